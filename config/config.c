/* placeholder: filled in by the config work */
#include "config/config.h"
