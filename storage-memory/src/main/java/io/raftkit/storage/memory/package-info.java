/**
 * Test-facing controls of the {@code "memory"} storage provider: {@link
 * io.raftkit.storage.memory.MemoryStores} is the registry of named stores in this JVM, and {@link
 * io.raftkit.storage.memory.MemoryStore} the handle a test uses to inspect one, simulate a crash
 * (power loss) or hold its syncs.
 */
package io.raftkit.storage.memory;
