/**
 * Loading and validating the sidecar's YAML configuration into one typed model of records.
 *
 * <p>Every error names the file, the path inside it and what was expected; a configuration that
 * fails to load is rejected whole.
 */
package dev.toolgate.config;
