package dev.toolgate.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar bench/target/toolgate-bench.jar COMMAND ...}: the load generator, the benchmark upstreams, the
 * results writer, a JFR summary and JMH, in one jar. See bench/README.md.
 */
public final class BenchMain {
    private static final String USAGE = """
            usage: java -jar toolgate-bench.jar COMMAND [options]
              load --target URL [--h2] [--payload bytes|mcp|grpc] [--rate RPS|0] [--connections N] [--streams N]
                   [--warmup 2s] [--duration 5s] [--body 1024] [--threads 1] [--cert PEM --key PEM] [--trust PEM]
                   [--cpu-pids PID,PID] [--header 'name: value']... [--out FILE.properties]
                                      open-loop load (rate 0: closed loop); prints one summary line;
                                      --header (repeatable) adds a header to every request, e.g.
                                      --header toolgate-task:TOKEN (no space needed: fits a batch plan line)
              batch PLAN              runs the load lines of PLAN (NAME then load options, one run a line) in
                                      this JVM, one after the other (warm generator, no JVM start per run)
              upstream [--port 0] [--threads 1] [--body 1024]
                                      plaintext HTTP/1.1 upstream answering BODY bytes; prints its port
              grpc-upstream [--port 0] [--body 1024]
                                      grpc.testing.SimpleService upstream (plaintext HTTP/2); prints its port
              report --results DIR --out FILE.md
                                      writes the results tables from a run.sh results directory
              jfr-top FILE.jfr [--top 25]  top frames of jdk.ExecutionSample events
              jmh [JMH options]        the JMH micro benchmarks (e.g. jmh -f 1 -wi 3 -i 5 PathNormalizer)
            """;

    private BenchMain() {}

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.print(USAGE);
            System.exit(2);
        }
        try {
            switch (argv[0]) {
                case "load" -> load(argv);
                case "batch" -> batch(argv);
                case "upstream" -> upstream(argv);
                case "grpc-upstream" -> grpcUpstream(argv);
                case "report" -> {
                    Args a = new Args(argv, 1, Set.of("results", "out"), Set.of());
                    ResultsWriter.write(Path.of(a.required("results")), Path.of(a.required("out")));
                }
                case "jfr-top" -> {
                    Args a = new Args(argv, 1, Set.of("top"), Set.of());
                    if (a.positional.size() != 1) {
                        throw new IllegalArgumentException("jfr-top: one recording file expected");
                    }
                    JfrTop.print(Path.of(a.positional.get(0)), a.intValue("top", 25), System.out);
                }
                case "jmh" -> org.openjdk.jmh.Main.main(Arrays.copyOfRange(argv, 1, argv.length));
                default -> throw new IllegalArgumentException("unknown command " + argv[0]);
            }
        } catch (IllegalArgumentException e) {
            System.err.println("toolgate-bench: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
    }

    private static void load(String[] argv) throws IOException, InterruptedException {
        Args a = new Args(argv, 1,
                Set.of("target", "payload", "rate", "connections", "streams", "warmup", "duration", "body", "threads",
                        "cert", "key", "trust", "cpu-pids", "out"),
                Set.of("header"), Set.of("h2"));
        LoadOptions.Protocol protocol = a.flag("h2") ? LoadOptions.Protocol.H2 : LoadOptions.Protocol.H1;
        List<Integer> pids = new ArrayList<>();
        for (String p : a.get("cpu-pids", "").split(",")) {
            if (!p.isBlank()) {
                pids.add(Integer.parseInt(p.trim()));
            }
        }
        LoadOptions o = new LoadOptions(
                URI.create(a.required("target")), protocol,
                LoadOptions.Payload.valueOf(a.get("payload", "bytes").toUpperCase(java.util.Locale.ROOT)),
                a.intValue("rate", 1000), a.intValue("connections", 16),
                protocol == LoadOptions.Protocol.H1 ? 1 : a.intValue("streams", 8),
                a.duration("warmup", Duration.ofSeconds(2)), a.duration("duration", Duration.ofSeconds(5)),
                a.intValue("body", 1024), a.intValue("threads", 1),
                path(a.get("cert", null)), path(a.get("key", null)), path(a.get("trust", null)), pids,
                a.all("header").stream().map(LoadOptions.Header::parse).toList());
        LoadReport r = LoadGenerator.run(o);
        System.out.println(r.summary());
        String out = a.get("out", null);
        if (out != null) {
            Path file = Path.of(out);
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            try (OutputStream s = Files.newOutputStream(file)) {
                r.toProperties().store(s, "toolgate-bench load " + withoutHeaderValues(argv));
            }
        }
    }

    /** The load options as given, header values left out: a header may carry a secret (a task token). */
    static String withoutHeaderValues(String[] argv) {
        List<String> words = new ArrayList<>();
        for (int i = 1; i < argv.length; i++) {
            boolean headerValue = i > 1 && argv[i - 1].equals("--header");
            words.add(headerValue ? LoadOptions.Header.parse(argv[i]).name() + ":..." : argv[i]);
        }
        return String.join(" ", words);
    }

    private static void batch(String[] argv) throws IOException, InterruptedException {
        if (argv.length != 2) {
            throw new IllegalArgumentException("batch: one plan file expected");
        }
        List<String> lines = Files.readAllLines(Path.of(argv[1]));
        int n = 0;
        for (String line : lines) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            String[] words = l.split("\\s+");
            n++;
            System.out.print("[" + n + "] " + words[0] + ": ");
            String[] loadArgv = new String[words.length];
            loadArgv[0] = "load";
            System.arraycopy(words, 1, loadArgv, 1, words.length - 1);
            try {
                load(loadArgv);
            } catch (IOException e) {
                System.out.println("FAILED: " + e.getMessage()); // the run is missing from the results, not fatal
            }
            System.out.flush();
        }
        // run.sh subtracts this from the machine's busy time to tell how much other work ran beside the benchmark
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            System.out.printf(java.util.Locale.ROOT, "generator-cpu-seconds=%.2f%n", sun.getProcessCpuTime() / 1e9);
        }
    }

    private static void upstream(String[] argv) throws InterruptedException {
        Args a = new Args(argv, 1, Set.of("port", "threads", "body"), Set.of());
        BenchUpstream u = BenchUpstream.start(a.intValue("port", 0), a.intValue("threads", 1), a.intValue("body", 1024));
        System.out.println("upstream listening on 127.0.0.1:" + u.port());
        awaitShutdown(u::close);
    }

    private static void grpcUpstream(String[] argv) throws IOException, InterruptedException {
        Args a = new Args(argv, 1, Set.of("port", "body"), Set.of());
        GrpcUpstream u = GrpcUpstream.start(a.intValue("port", 0), a.intValue("body", 1024));
        System.out.println("grpc upstream listening on 127.0.0.1:" + u.port());
        awaitShutdown(() -> {
            try {
                u.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    private static void awaitShutdown(Runnable close) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            close.run();
            stopped.countDown();
        }, "bench-shutdown"));
        stopped.await();
    }

    private static Path path(String s) {
        return s == null ? null : Path.of(s);
    }
}
