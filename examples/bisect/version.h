/* What boot.S prints, and whether it hangs afterwards (see bisect.sh). */
#define MESSAGE "boot: ok (release 1)\n"
#define HANG 0
