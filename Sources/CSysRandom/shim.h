// getrandom(2) on Linux (glibc >= 2.25), getentropy(2) on Darwin; Swift's Glibc module does not export this header.
#include <sys/random.h>
