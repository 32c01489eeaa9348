/* libFuzzer target: the configuration loader on arbitrary file contents. */
#include "config/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's scanner leaks its string buffer on some malformed input (strbuf_append, found by this
 * target); that is not our code, so LeakSanitizer is told to look away from it. */
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig.so\n";
}

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* @include could name a FIFO or a terminal and block the fuzzer; includes are libconfig's code anyway. */
	if (size > 65536 || memmem(data, size, "@include", 8))
		return 0;
	if (!path[0]) {
		char dir[] = "/tmp/lpw-config-fuzz-XXXXXX";
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/fuzz.conf", dir);
	}
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);

	lpw_config_t *cfg = NULL;
	FILE *errors = fopen("/dev/null", "w");
	if (lpw_config_load(path, &cfg, errors) == 0) {
		/* a valid configuration must survive the other entry points too */
		for (size_t i = 0; i < cfg->ndevices; i++)
			if (lpw_config_find_device(cfg, cfg->devices[i].id) == NULL)
				abort();
		if (lpw_config_diff(cfg, cfg, errors) != 0)
			abort();
		lpw_config_free(cfg);
	}
	if (errors)
		fclose(errors);
	return 0;
}
