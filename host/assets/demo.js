// A synthetic big machine for `?demo=CORESxGPUS` and the browser test: the same
// message shape the server sends, with slow, out-of-phase waves, including the
// sections a machine without them (sensors on a VM) cannot show.

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
        hostname: `demo-${cores}x${gpus}`, processes: 1423, boot_time: isoLocal(t - 3 * 86400000 - 4 * 3600000) },
      ...(gpus > 0 ? { gpu: { count: gpus, backend: "nvml", gpus: gpuList, ...gpuTop } } : {}),
      ...machine(t, wave, cores),
    },
    alerts: [
      { timestamp: isoLocal(t), component: "disk", metric: "usage_percent", value: 96.1, threshold: 95,
        level: "CRITICAL", message: "Critical disk usage (/data): 96.1% (threshold: 95.0%)" },
    ],
  };
}

const MiB = 1024 ** 2;
const round1 = (v) => Math.round(Math.max(0, v) * 10) / 10;

/** Counters that grow by a twentieth of `rate` per second (a machine not always this busy). */
const counter = (t, rate) => Math.round(((t / 1000) % 1e6) * (rate / 20));

/** `network`, `disk_io`, `load`, `sensors` and `processes` of the synthetic machine at `t`. */
function machine(t, wave, cores) {
  const iface = (name, i, rx, tx) => {
    const rxRate = round1(wave(i, rx, rx * 0.8));
    const txRate = round1(wave(i + 2, tx, tx * 0.7));
    return {
      name, rx_bytes_per_sec: rxRate, tx_bytes_per_sec: txRate,
      rx_packets_per_sec: round1(rxRate / 1400), tx_packets_per_sec: round1(txRate / 1400),
      rx_errors_per_sec: 0, tx_errors_per_sec: 0, rx_drops_per_sec: i === 1 ? 0.5 : 0, tx_drops_per_sec: 0,
      rx_bytes: counter(t, rx), tx_bytes: counter(t, tx), rx_packets: counter(t, rx / 1400),
      tx_packets: counter(t, tx / 1400), rx_errors: 0, tx_errors: 0, rx_drops: i === 1 ? 42 : 0, tx_drops: 0,
    };
  };
  const interfaces = [iface("eth0", 0, 48 * MiB, 9 * MiB), iface("wlan0", 1, 300 * 1024, 40 * 1024)];
  const device = (name, i, read, write) => {
    const r = round1(wave(i, read, read * 0.9));
    const w = round1(wave(i + 4, write, write * 0.9));
    return {
      name, read_bytes_per_sec: r, write_bytes_per_sec: w, reads_per_sec: round1(r / 65536),
      writes_per_sec: round1(w / 65536), busy_percent: round1(Math.min(100, wave(i, 55, 40))),
      read_bytes: counter(t, read), write_bytes: counter(t, write), reads: counter(t, read / 65536),
      writes: counter(t, write / 65536), io_time_ms: counter(t, 500),
    };
  };
  const devices = [device("nvme0n1", 0, 900 * MiB, 400 * MiB), device("sda", 1, 20 * MiB, 60 * MiB)];
  const sum = (list, key) => round1(list.reduce((a, x) => a + x[key], 0));
  const load1 = Math.round(wave(0, cores * 0.6, cores * 0.4) * 100) / 100;
  const temp = (label, i, base, high, critical) => ({
    chip: "k10temp", label, celsius: round1(wave(i, base, 8)), high, critical,
  });
  const temperatures = [
    temp("Tccd1", 0, 68, 90, 95), temp("Tccd2", 1, 71, 90, 95), temp("Tctl", 2, 74, 90, 95),
    { chip: "nvme", label: "Composite", celsius: 84.9, high: 80.8, critical: 84.8 },
    { chip: "nvme", label: "Sensor 1", celsius: round1(wave(3, 52, 4)), high: null, critical: null },
  ];
  const fans = [1, 2, 3].map((n) => ({ chip: "nct6799", label: `fan${n}`, rpm: Math.round(wave(n, 1400, 300)) }));
  const names = ["postgres", "java", "python3", "node", "rustc", "nginx", "redis-server", "clickhouse", "envoy", "containerd", "kworker/3:1", "systemd"];
  const processes = names.map((name, i) => ({
    pid: 1000 + i * 137, name, user: i % 3 === 0 ? "postgres" : i % 3 === 1 ? "app" : null,
    cpu_percent: round1(wave(i, 120 / (i + 1), 100 / (i + 1))),
    memory_rss: Math.round((64 - i * 5) * 1024 * MiB * (0.8 + 0.2 * Math.sin(i))),
    memory_percent: round1((64 - i * 5) / 10.24 * (0.8 + 0.2 * Math.sin(i))),
    command: `/usr/bin/${name} --config /etc/${name}/${name}.conf --workers ${i + 2}`,
  }));
  const top = (key) => [...processes].sort((a, b) => b[key] - a[key]).slice(0, 10);
  return {
    network: { interfaces, rx_bytes_per_sec: sum(interfaces, "rx_bytes_per_sec"), tx_bytes_per_sec: sum(interfaces, "tx_bytes_per_sec"),
      rx_bytes: interfaces.reduce((a, x) => a + x.rx_bytes, 0), tx_bytes: interfaces.reduce((a, x) => a + x.tx_bytes, 0) },
    disk_io: { devices, read_bytes_per_sec: sum(devices, "read_bytes_per_sec"), write_bytes_per_sec: sum(devices, "write_bytes_per_sec") },
    load: { load1, load5: Math.round(cores * 60) / 100, load15: Math.round(cores * 55) / 100,
      runnable_tasks: Math.max(1, Math.round(load1)), total_tasks: 2140, uptime_seconds: 3 * 86400 + 4 * 3600, cpu_count: cores },
    sensors: { temperatures, fans },
    processes: { total: 1423, top_cpu: top("cpu_percent"), top_memory: top("memory_rss") },
  };
}
