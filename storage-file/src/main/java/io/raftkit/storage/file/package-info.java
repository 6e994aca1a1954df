/**
 * The name and the options of the {@code "file"} storage provider ({@link
 * io.raftkit.storage.file.FileStorage}).
 */
package io.raftkit.storage.file;
