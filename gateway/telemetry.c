/* placeholder */
#include "gateway/log.h"
