/* The numeric type of the model core. The library is built in float; the gradient-check tests
 * build the same sources with -DVC_DOUBLE so finite differences can use tight tolerances. */
#ifndef VC_CORE_REAL_H
#define VC_CORE_REAL_H

#include <stddef.h>

#ifdef VC_DOUBLE
typedef double vc_real;
#define VC_REAL_NAME "f64"
#else
typedef float vc_real;
#define VC_REAL_NAME "f32"
#endif

#endif
