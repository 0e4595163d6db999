// A synthetic big machine for `?demo=CORESxGPUS` and the browser test: the same
// message shape the server sends, with slow, out-of-phase waves.

export function isoLocal(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

/** A synthetic snapshot of a big machine: `cores` cores, `gpus` GPUs, three disks. */
export function demoMessage(cores = 64, gpus = 8, t = Date.now()) {
  const s = t / 1000;
  // Slow swells with a little ripple, each core and GPU out of phase with the others.
  const wave = (i, base, amp) =>
    base + amp * Math.sin(s * 0.05 + i * 1.7) + (amp / 5) * Math.sin(s * 0.3 + i * 0.6);
  const pct = (v) => Math.round(Math.max(0, Math.min(100, v)) * 10) / 10;
  const perCore = Array.from({ length: cores }, (_, i) => pct(wave(i, 45, 40)));
  const usage = perCore.reduce((a, b) => a + b, 0) / Math.max(1, cores);
  const GiB = 1024 ** 3;
  const disk = (path, total, p) => ({ path, total, used: (total * p) / 100, free: total * (1 - p / 100), percentage: p });
  const gpuList = Array.from({ length: gpus }, (_, i) => {
    const memory = pct(wave(i + 3, 60, 25));
    return {
      id: i, name: "NVIDIA H100 80GB HBM3", memory_total: 80 * GiB, memory_used: (80 * GiB * memory) / 100,
      memory_percentage: memory, gpu_usage_percent: pct(wave(i, 60, 35)),
      temperature: Math.round(wave(i, 66, 12)), power_draw: Math.round(wave(i, 420, 220)), power_limit: 700,
    };
  });
  const disks = [disk("/", 512 * GiB, 62.5), disk("/home", 2048 * GiB, 41.2), disk("/data", 16384 * GiB, 96.1)];
  const gpuTop = gpuList[0] ?? {};
  return {
    type: "monitoring_data",
    timestamp: isoLocal(t),
    data: {
      processor: { usage_percent: Math.round(usage * 10) / 10, per_core_usage: perCore, core_count: cores / 2,
        logical_count: cores, frequency_current: 2450, frequency_max: 3700 },
      memory: { total: 1024 * GiB, available: 380 * GiB, used: 644 * GiB, percentage: 62.9 },
      disk: disks[0], disks,
      system: { os_name: "Linux", os_release: "6.1.0-18-amd64", architecture: "x86_64", machine: "x86_64",
        processor: "AMD EPYC 9554 64-Core Processor", platform: "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36",
        hostname: "demo-64x8", processes: 1423, boot_time: isoLocal(t - 3 * 86400000 - 4 * 3600000) },
      ...(gpus > 0 ? { gpu: { count: gpus, backend: "nvml", gpus: gpuList, ...gpuTop } } : {}),
    },
    alerts: [
      { timestamp: isoLocal(t), component: "disk", metric: "usage_percent", value: 96.1, threshold: 95,
        level: "CRITICAL", message: "Critical disk usage: 96.1% (threshold: 95.0%)" },
    ],
  };
}
