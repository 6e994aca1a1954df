/**
 * The implementation of the {@code "file"} storage provider: the segmented log ({@link
 * io.raftkit.storage.file.internal.SegmentedLog} over {@link
 * io.raftkit.storage.file.internal.Segment} files), the state file ({@link
 * io.raftkit.storage.file.internal.StateFile}) and the snapshot files ({@link
 * io.raftkit.storage.support.FileSnapshotStore}, shared with {@code "rocksdb"} in
 * {@code storage-support}). Not exported.
 */
package io.raftkit.storage.file.internal;
