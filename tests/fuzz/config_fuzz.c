/* libFuzzer target: the configuration loader on arbitrary file contents: our reader (includes, limits, the line
 * map, config/source.c), libconfig's parser, the schema, the diff and the checks of the state directory. */
#include "config/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
static unsigned long errors_seen; /* keeps the result used */

/* Files an @include in the input may name (no '/' allowed, so nothing outside the directory): a device entry, a
 * FIFO and a directory, which the reader must refuse without blocking, and the input itself (a loop). */
static void make_dir(void)
{
	char dir[] = "/tmp/lpw-config-fuzz-XXXXXX", file[96];
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/fuzz.conf", dir);
	snprintf(file, sizeof(file), "%s/a.inc", dir);
	FILE *f = fopen(file, "w");
	if (!f || fputs("{ id = \"i\"; binding = \"nidd-sgi\"; ip = \"127.0.0.7\"; server = \"s\"; }\n", f) < 0)
		abort();
	fclose(f);
	snprintf(file, sizeof(file), "%s/fifo.inc", dir);
	if (mkfifo(file, 0600) != 0)
		abort();
	snprintf(file, sizeof(file), "%s/dir.inc", dir);
	if (mkdir(file, 0700) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An @include naming a path could reach any file of the machine: only names inside our directory. */
	if (size > 65536 || (memmem(data, size, "@include", 8) && memchr(data, '/', size)))
		return 0;
	if (!path[0])
		make_dir();
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
		if (lpw_config_check_runtime(cfg, errors) < 0) /* looks only (stat, access); often fails here */
			errors_seen++;
		lpw_config_free(cfg);
	}
	if (errors)
		fclose(errors);
	return 0;
}
