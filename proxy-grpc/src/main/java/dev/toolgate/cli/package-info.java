/**
 * The {@code toolgate} command line (picocli): {@code run}, {@code demo}, {@code dev-ca issue}, {@code task ...} and
 * {@code tail} (clients of the control API), {@code audit verify}, {@code completion}. Commands only parse
 * arguments and wire the parts of proxy-core together (or call the control API); they hold no logic of their own.
 */
package dev.toolgate.cli;
