/* libFuzzer target: lines a control-socket peer sends (gateway/ctl_proto.c). Every line is parsed; a refusal must
 * say why, an accepted one must name a real verb with an argument exactly when the verb takes one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *line, size_t len)
{
	lpw_ctl_cmd_t cmd;
	const char *why = NULL;
	if (lpw_ctl_parse(line, len, &cmd, &why) < 0) {
		if (!why || !*why)
			abort();
		return;
	}
	if (why || !lpw_ctl_verb_name(cmd.verb) || strlen(cmd.arg) > LPW_CTL_ARG_MAX ||
	    lpw_ctl_verb_takes_id(cmd.verb) != (cmd.arg[0] != '\0'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the input is split at newlines as the daemon splits its stream; each piece is its own copy so that reading
	 * past it is caught */
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		char *line = malloc(i - start + 1);
		if (!line)
			return 0;
		memcpy(line, data + start, i - start);
		one(line, i - start);
		free(line);
		start = i + 1;
	}
	return 0;
}
