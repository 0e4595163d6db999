/*
 * A stand-in for libnvidia-ml.so.1, compiled by test-support/src/nvml.rs, exporting the
 * NVML functions the gpu-nvml plugin calls, with canned answers for two GPUs:
 *   GPU 0 "Fake GeForce 0": every reading supported.
 *   GPU 1 "Fake Tesla 1":   power readings return NVML_ERROR_NOT_SUPPORTED (3).
 *
 * nvml-wrapper resolves every symbol of nvml.h at init, each on its own: a missing one
 * only fails the call that needs it. Two exceptions matter: nvmlInit_v2 (init fails
 * without it) and nvmlShutdown, which nvml-wrapper's Drop calls through an
 * `expect`, so a library without it panics when the plugin is dropped.
 *
 * Variants (preprocessor flags):
 *   -DFAKE_NO_MEMORY_V2   omit nvmlDeviceGetMemoryInfo_v2, as drivers before R510 do
 *   -DFAKE_INIT_FAILS     nvmlInit_v2 returns NVML_ERROR_DRIVER_NOT_LOADED (9)
 */
#include <stdio.h>
#include <string.h>

typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9

typedef struct { unsigned int index; } fake_device;
typedef fake_device *nvmlDevice_t;

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;

static fake_device devices[2] = { { 0 }, { 1 } };
static const unsigned long long MIB = 1024ULL * 1024ULL;

/* How many times the library was initialised and shut down, for the tests to read. */
int fake_nvml_inits = 0;
int fake_nvml_shutdowns = 0;

static nvmlReturn_t copy_string(const char *value, char *out, unsigned int length) {
    if (out == NULL || strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(out, value);
    return NVML_SUCCESS;
}

static nvmlReturn_t check(nvmlDevice_t device) {
    return (device == &devices[0] || device == &devices[1]) ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t nvmlInit_v2(void) {
#ifdef FAKE_INIT_FAILS
    return NVML_ERROR_DRIVER_NOT_LOADED;
#else
    fake_nvml_inits++;
    return NVML_SUCCESS;
#endif
}

nvmlReturn_t nvmlShutdown(void) {
    fake_nvml_shutdowns++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    return copy_string("550.54.15", version, length);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    *count = 2;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (index > 1) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &devices[index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    if (check(device)) return NVML_ERROR_INVALID_ARGUMENT;
    return copy_string(device->index == 0 ? "Fake GeForce 0" : "Fake Tesla 1", name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    if (check(device)) return NVML_ERROR_INVALID_ARGUMENT;
    char text[64];
    snprintf(text, sizeof text, "GPU-00000000-0000-0000-0000-00000000000%u", device->index);
    return copy_string(text, uuid, length);
}

/* GPU 0: 8 GiB, 2 GiB used, 256 MiB reserved. GPU 1: 16 GiB, 12 GiB used, none reserved. */
static void memory_of(nvmlDevice_t device, unsigned long long *total, unsigned long long *reserved,
                      unsigned long long *used) {
    *total = (device->index == 0 ? 8192 : 16384) * MIB;
    *reserved = (device->index == 0 ? 256 : 0) * MIB;
    *used = (device->index == 0 ? 2048 : 12288) * MIB;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    if (check(device)) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned long long total, reserved, used;
    memory_of(device, &total, &reserved, &used);
    /* The v1 call counts reserved memory as used. */
    memory->total = total;
    memory->used = used + reserved;
    memory->free = total - used - reserved;
    return NVML_SUCCESS;
}

#ifndef FAKE_NO_MEMORY_V2
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
    if (check(device)) return NVML_ERROR_INVALID_ARGUMENT;
    if (memory->version != (unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24))) return NVML_ERROR_INVALID_ARGUMENT;
    memory_of(device, &memory->total, &memory->reserved, &memory->used);
    memory->free = memory->total - memory->used - memory->reserved;
    return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization) {
    if (check(device)) return NVML_ERROR_INVALID_ARGUMENT;
    utilization->gpu = device->index == 0 ? 45 : 99;
    utilization->memory = 10;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temperature) {
    if (check(device) || sensor != 0) return NVML_ERROR_INVALID_ARGUMENT;
    *temperature = device->index == 0 ? 65 : 71;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *milliwatts) {
    if (check(device)) return NVML_ERROR_INVALID_ARGUMENT;
    if (device->index == 1) return NVML_ERROR_NOT_SUPPORTED;
    *milliwatts = 220500;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *milliwatts) {
    if (check(device)) return NVML_ERROR_INVALID_ARGUMENT;
    if (device->index == 1) return NVML_ERROR_NOT_SUPPORTED;
    *milliwatts = 350000;
    return NVML_SUCCESS;
}
