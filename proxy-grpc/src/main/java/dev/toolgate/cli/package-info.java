/**
 * The {@code toolgate} command line (picocli): {@code run}, {@code demo}, {@code dev-ca issue}. Commands only parse
 * arguments and wire the parts of proxy-core together; they hold no logic of their own.
 */
package dev.toolgate.cli;
