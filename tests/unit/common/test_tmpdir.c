/* test_tmpdir.h */
#include "tests/unit/common/test_tmpdir.h"

#include <ftw.h>
#include <stdio.h>

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int lpw_test_rmtree(const char *dir)
{
	return nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
