package dev.toolgate.deploy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a command to completion with a deadline, capturing both streams. */
final class Commands {
    private Commands() {}

    record Result(List<String> command, int exit, String out, String err, long millis) {
        Result requireSuccess() {
            if (exit != 0) {
                throw new AssertionError(this.describe());
            }
            return this;
        }

        String describe() {
            return String.join(" ", command) + " -> exit " + exit + " after " + millis + " ms\nstdout: " + out
                    + "\nstderr: " + err;
        }
    }

    static Result run(List<String> command) {
        return run(command, Map.of(), null, Duration.ofSeconds(30));
    }

    static Result run(List<String> command, Map<String, String> env, Path dir, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        long start = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        }
        try {
            p.getOutputStream().close();
        } catch (IOException ignored) {
            // the command reads no input; a failed close changes nothing
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout);
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            return new Result(command, p.exitValue(), out.join(), err.join(), millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new AssertionError("interrupted while running " + command, e);
        }
    }

    /** Whether {@code name} is an executable on PATH, /usr/sbin or /sbin. */
    static boolean available(String name) {
        return which(name) != null;
    }

    /** The executable {@code name} on PATH, /usr/sbin or /sbin (root's tools), or null. */
    static String which(String name) {
        if (name.contains("/")) {
            return Path.of(name).toFile().canExecute() ? name : null;
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String dir : (path + ":/usr/sbin:/sbin").split(":")) {
            if (!dir.isEmpty() && Path.of(dir, name).toFile().canExecute()) {
                return Path.of(dir, name).toString();
            }
        }
        return null;
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                in.transferTo(buf);
                return buf.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(unreadable: " + e.getMessage() + ")";
            }
        });
    }
}
