package io.raftkit.examples.kv;

/**
 * What the key-value state machine returns for one command.
 *
 * <ul>
 *   <li>PUT: {@code ok} is true, {@code value} is the previous value ({@code null} if none);
 *   <li>DELETE: {@code ok} says whether the key existed, {@code value} is its previous value;
 *   <li>CAS: {@code ok} says whether the swap happened, {@code value} is the value afterwards;
 *   <li>GET: {@code ok} says whether the key exists, {@code value} is its value.
 * </ul>
 *
 * @param ok see above
 * @param value see above
 */
record KvResult(boolean ok, String value) {}
