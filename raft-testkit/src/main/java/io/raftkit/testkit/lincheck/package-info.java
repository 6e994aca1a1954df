/**
 * A linearizability checker: Wing and Gong's search with Lowe's memoisation (as in Porcupine),
 * over a history partitioned by key, with operations of unknown outcome that may or may not
 * have taken effect.
 */
package io.raftkit.testkit.lincheck;
