/* Driver for test_module_onnxruntime.py: loads ONNX Runtime through the module's own
 * loader (ort_api.c, built with INSITU_ORT_TEST), optionally with one slot of its table
 * moved, and prints "ok <version>" or "off <why>". Usage: ort_slots <library> [slot delta] */
#include <stdio.h>
#include <stdlib.h>

#include "ort_api.h"

int ort_api_test_shift(size_t i, int delta);

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: ort_slots <library> [slot delta]\n");
        return 2;
    }
    if (argc == 4 && ort_api_test_shift((size_t)atoi(argv[2]), atoi(argv[3])) < 0) {
        printf("no such slot\n");
        return 3;
    }
    char why[600];
    if (ort_api_load(argv[1], why, sizeof why) == 0) printf("ok %s\n", ort_version);
    else printf("off %s\n", why);
    return 0;
}
