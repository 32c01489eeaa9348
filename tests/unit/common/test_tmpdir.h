/* Removing a test's temporary directory tree (state stores, broker configurations, config files). */
#ifndef LPW_TEST_TMPDIR_H
#define LPW_TEST_TMPDIR_H

/* Removes dir and everything below it (symbolic links are removed, never followed). 0, or -1 if something could
 * not be removed. */
int lpw_test_rmtree(const char *dir);

#endif
