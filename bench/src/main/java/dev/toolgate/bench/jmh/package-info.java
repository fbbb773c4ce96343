/**
 * JMH micro benchmarks of what runs on every request today: target normalization, route matching, trace context
 * and the authorization decision (task token lookup and grant match). Run with
 * {@code java -jar bench/target/toolgate-bench.jar jmh}; never part of {@code mvn verify}.
 */
package dev.toolgate.bench.jmh;
