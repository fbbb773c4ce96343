/**
 * Loading and validating the sidecar's YAML configuration into one typed model of records.
 *
 * <p>Every error names the file, the line, the path inside it and what was expected; a configuration that
 * fails to load is rejected whole. {@link dev.toolgate.config.FileWatch} notices changes of watched files (policy and
 * route hot reload), ConfigMap symlink swaps included.
 */
package dev.toolgate.config;
