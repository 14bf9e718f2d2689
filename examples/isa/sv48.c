/* Sv48 paging (see vm.h) */
#define LEVELS 4
#include "vm.h"
