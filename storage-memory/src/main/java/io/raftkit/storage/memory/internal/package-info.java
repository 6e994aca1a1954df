/**
 * The implementation of the {@code "memory"} storage provider. Not exported: {@link
 * java.util.ServiceLoader} finds {@link io.raftkit.storage.memory.internal.MemoryStorageProvider}
 * through the module's {@code provides} clause (or {@code META-INF/services} on the class path).
 *
 * <p>A {@code DurableStore} is what survives a close in this JVM (the "disk"); a {@code
 * MemoryRaftStorage} is one open session over it, the object the engine uses.
 */
package io.raftkit.storage.memory.internal;
