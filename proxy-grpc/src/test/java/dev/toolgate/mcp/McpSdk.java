package dev.toolgate.mcp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The official MCP TypeScript SDK harness in {@code proxy-grpc/src/test/mcp-sdk}: {@code server.mjs}
 * and {@code client.mjs} with the SDK version pinned by its {@code package-lock.json}.
 *
 * <p>{@link #ensureInstalled()} makes the tests self-contained: it checks that Node.js is there and
 * runs {@code npm ci} when {@code node_modules} is missing or was installed from another lock
 * file, so {@code mvn -B verify} stays the one test command. Nothing is skipped: without Node.js
 * the tests fail and say how to install it.
 *
 * <p>Thread-safe: installation runs at most once per JVM.
 */
public final class McpSdk {

    /** Oldest Node.js the pinned packages support (undici 6: 18.17). */
    static final int[] MIN_NODE = {18, 17};
    private static final Pattern NODE_VERSION = Pattern.compile("v(\\d+)\\.(\\d+)\\.(\\d+)");
    private static final String STAMP = ".toolgate-lock-sha256";

    private static Path installed;

    private McpSdk() {}

    /** The harness directory (holds package.json, server.mjs, client.mjs). */
    static Path dir() {
        // Surefire sets basedir to the module; an IDE usually runs tests from the module too.
        Path base = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
        Path dir = base.resolve("src/test/mcp-sdk");
        if (!Files.isRegularFile(dir.resolve("package.json"))) {
            dir = base.resolve("proxy-grpc/src/test/mcp-sdk"); // run from the repository root
        }
        if (!Files.isRegularFile(dir.resolve("package-lock.json"))) {
            throw new IllegalStateException("MCP SDK harness not found at " + dir
                    + " (expected: proxy-grpc/src/test/mcp-sdk with package.json and package-lock.json)");
        }
        return dir;
    }

    /**
     * Checks Node.js and installs the pinned packages if needed.
     *
     * @return the harness directory, ready to run
     * @throws IllegalStateException if Node.js is missing or too old, or {@code npm ci} fails; the
     *                               message says what to do
     */
    public static synchronized Path ensureInstalled() {
        if (installed != null) {
            return installed;
        }
        Path dir = dir();
        checkNode();
        try {
            String lockHash = sha256(Files.readAllBytes(dir.resolve("package-lock.json")));
            Path stamp = dir.resolve("node_modules").resolve(STAMP);
            if (!Files.isRegularFile(stamp) || !Files.readString(stamp).strip().equals(lockHash)) {
                npmCi(dir);
                Files.writeString(stamp, lockHash + "\n");
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot install the MCP SDK harness in " + dir + ": " + e, e);
        }
        installed = dir;
        return dir;
    }

    private static void checkNode() {
        String version;
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            version = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("`node --version` failed: " + version);
            }
        } catch (IOException e) {
            throw new IllegalStateException("Node.js is needed for the MCP SDK tests and `node` is not on the PATH ("
                    + e.getMessage() + "). Install Node.js " + MIN_NODE[0] + "." + MIN_NODE[1]
                    + "+ with npm (Debian: apt-get install nodejs npm; CI's .ci/run does this).", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking Node.js", e);
        }
        Matcher m = NODE_VERSION.matcher(version);
        if (!m.lookingAt()) {
            throw new IllegalStateException("`node --version` printed " + version + " (expected: vMAJOR.MINOR.PATCH)");
        }
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        if (major < MIN_NODE[0] || major == MIN_NODE[0] && minor < MIN_NODE[1]) {
            throw new IllegalStateException("Node.js " + version + " is too old for the MCP SDK harness (expected: "
                    + MIN_NODE[0] + "." + MIN_NODE[1] + " or later)");
        }
    }

    private static void npmCi(Path dir) throws IOException {
        Path log = Files.createTempFile("toolgate-npm-ci", ".log");
        try {
            // --prefer-offline: a warm npm cache makes this work without the registry;
            // --ignore-scripts: no package of the tree needs one, so none gets to run at install.
            Process p = new ProcessBuilder(List.of("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"))
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            p.getOutputStream().close();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("`npm ci` in " + dir + " took longer than 5 minutes:\n" + tail(log));
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("`npm ci` in " + dir + " exited " + p.exitValue()
                        + " (the npm registry must be reachable the first time):\n" + tail(log));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run npm (install it with Node.js: apt-get install npm): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during `npm ci`", e);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 is always available", e);
        }
    }
}
