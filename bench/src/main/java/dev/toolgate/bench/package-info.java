/**
 * Benchmarks of the data plane: the open-loop mTLS load generator ({@link dev.toolgate.bench.LoadGenerator}),
 * the benchmark upstreams, the results writer behind {@code bench/run.sh}, and JMH micro benchmarks in
 * {@code dev.toolgate.bench.jmh}. Nothing here is used by the sidecar itself.
 */
package dev.toolgate.bench;
