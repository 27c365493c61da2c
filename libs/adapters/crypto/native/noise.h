// The noise kernels of noise.c: their two property descriptors (tableBlock, scaledBlock).
#ifndef FEDLAB_NOISE_H
#define FEDLAB_NOISE_H
#include <node_api.h>

#define NOISE_PROPERTIES 2
void noise_properties(napi_property_descriptor *out);

#endif
