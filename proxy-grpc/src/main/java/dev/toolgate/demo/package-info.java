/**
 * {@code toolgate demo}: the product end to end on one machine with dev identities: a demo tool, the sidecar and a
 * scripted agent whose calls are printed with what the sidecar did with them.
 */
package dev.toolgate.demo;
