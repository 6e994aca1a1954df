package io.raftkit.engine.core;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.Vote;
import io.raftkit.api.error.RaftException;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.InstallSnapshotRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.ReadIndexRequest;
import io.raftkit.api.message.TimeoutNowRequest;
import io.raftkit.api.message.VoteRequest;
import java.util.List;

/**
 * What the engine asks its runtime to do. Commands are executed in the order emitted, except that
 * a command whose {@link #awaitIo()} is above the completed IO sequence waits until the log
 * writer reports that sequence done (and all commands after it wait with it, to keep order).
 *
 * <p>IO commands ({@link AppendEntries}, {@link TruncateLog}, {@link SaveVote}) carry a sequence
 * number; the runtime executes them in that order on the log-writer thread and reports each
 * completed sequence back with {@link Engine#handleIoDone(long)}. "Done" means durable: the vote
 * saved, the entries synced.
 */
public sealed interface Command {

  /** The command types, for exhaustive switch expressions. */
  enum Kind {
    /** {@link AppendEntries}. */
    APPEND_ENTRIES,
    /** {@link TruncateLog}. */
    TRUNCATE_LOG,
    /** {@link SaveVote}. */
    SAVE_VOTE,
    /** {@link SaveCommitted}. */
    SAVE_COMMITTED,
    /** {@link SendVote}. */
    SEND_VOTE,
    /** {@link SendAppend}. */
    SEND_APPEND,
    /** {@link SendTimeoutNow}. */
    SEND_TIMEOUT_NOW,
    /** {@link Reply}. */
    REPLY,
    /** {@link Apply}. */
    APPLY,
    /** {@link ReadReady}. */
    READ_READY,
    /** {@link ReadFailed}. */
    READ_FAILED,
    /** {@link Complete}. */
    COMPLETE,
    /** {@link Fail}. */
    FAIL,
    /** {@link BuildSnapshot}. */
    BUILD_SNAPSHOT,
    /** {@link PurgeLog}. */
    PURGE_LOG,
    /** {@link SendSnapshot}. */
    SEND_SNAPSHOT,
    /** {@link ReceiveSnapshotChunk}. */
    RECEIVE_SNAPSHOT_CHUNK,
    /** {@link InstallSnapshot}. */
    INSTALL_SNAPSHOT,
    /** {@link SendReadIndex}. */
    SEND_READ_INDEX
  }

  /** Which command this is. */
  Kind kind();

  /** The IO sequence that must be done before this command runs; 0 for none. */
  default long awaitIo() {
    return 0;
  }

  /**
   * Appends entries to the log and syncs them; done when synced.
   *
   * @param entries consecutive entries after the current last one; the engine may add more to this
   *     list until the batch ends
   * @param ioSeq this IO's sequence number
   */
  record AppendEntries(List<Entry> entries, long ioSeq) implements Command {
    @Override
    public Kind kind() {
      return Kind.APPEND_ENTRIES;
    }
  }

  /**
   * Removes the entries {@code [fromIndex, last]}; done when durable.
   *
   * @param fromIndex the first index to remove
   * @param ioSeq this IO's sequence number
   */
  record TruncateLog(long fromIndex, long ioSeq) implements Command {
    @Override
    public Kind kind() {
      return Kind.TRUNCATE_LOG;
    }
  }

  /**
   * Saves the vote durably.
   *
   * @param vote the vote
   * @param ioSeq this IO's sequence number
   */
  record SaveVote(Vote vote, long ioSeq) implements Command {
    @Override
    public Kind kind() {
      return Kind.SAVE_VOTE;
    }
  }

  /**
   * Records the commit index as a restart hint; need not be durable.
   *
   * @param committed the last committed id
   */
  record SaveCommitted(LogId committed) implements Command {
    @Override
    public Kind kind() {
      return Kind.SAVE_COMMITTED;
    }
  }

  /**
   * Sends a vote or pre-vote request; its response comes back with {@link
   * Engine#handleVoteResponse}.
   *
   * @param target the peer
   * @param request the request
   * @param awaitIo the vote save this request depends on (a candidate's own vote)
   */
  record SendVote(long target, VoteRequest request, long awaitIo) implements Command {
    @Override
    public Kind kind() {
      return Kind.SEND_VOTE;
    }
  }

  /**
   * Sends an append request carrying the entries {@code [fromIndex, toIndex)} of the log, which
   * the runtime reads. The response (or failure) goes back with {@link
   * Engine#handleAppendResponse} or {@link Engine#handleAppendFailure}, together with {@code
   * epoch}.
   *
   * @param target the peer
   * @param term the leader's term
   * @param prevLogId the entry before {@code fromIndex}
   * @param fromIndex the first entry to send
   * @param toIndex one past the last entry to send; equal to {@code fromIndex} for a heartbeat
   * @param leaderCommit the leader's commit index
   * @param epoch the replication epoch of this target when sent; for a heartbeat, which does not
   *     count against the in-flight window, a negative number: {@code -1 - round}, where round is
   *     the heartbeat round (used to confirm reads and measure the leader lease)
   */
  record SendAppend(
      long target, long term, LogId prevLogId, long fromIndex, long toIndex, long leaderCommit, long epoch)
      implements Command {
    @Override
    public Kind kind() {
      return Kind.SEND_APPEND;
    }

    /** The request with the given entries (which must be {@code [fromIndex, toIndex)}). */
    public AppendRequest toRequest(final long leaderId, final List<Entry> entries) {
      return new AppendRequest(term, leaderId, prevLogId, entries, leaderCommit);
    }
  }

  /**
   * Tells an up-to-date follower to campaign now (leadership transfer); the response is ignored.
   *
   * @param target the follower
   * @param request the request
   */
  record SendTimeoutNow(long target, TimeoutNowRequest request) implements Command {
    @Override
    public Kind kind() {
      return Kind.SEND_TIMEOUT_NOW;
    }
  }

  /**
   * Answers an inbound request, or completes a local request (such as {@code initialize}) when
   * {@code response} is null.
   *
   * @param replyTo the token the request came with
   * @param response the response, or {@code null} for a local request that succeeded
   * @param awaitIo the IO the response depends on: the reply is sent only once it is durable
   */
  record Reply(Object replyTo, RaftResponse response, long awaitIo) implements Command {
    @Override
    public Kind kind() {
      return Kind.REPLY;
    }
  }

  /**
   * Applies the committed and durable entries up to {@code upTo} to the state machine.
   *
   * @param upTo the last entry to apply
   */
  record Apply(LogId upTo) implements Command {
    @Override
    public Kind kind() {
      return Kind.APPLY;
    }
  }

  /**
   * A linearizable read is confirmed and the state machine has applied up to its read index.
   *
   * @param replyTo the token the read came with
   * @param readIndex the read index
   */
  record ReadReady(Object replyTo, LogId readIndex) implements Command {
    @Override
    public Kind kind() {
      return Kind.READ_READY;
    }
  }

  /**
   * A linearizable read cannot be served here.
   *
   * @param replyTo the token the read came with
   * @param error why
   */
  record ReadFailed(Object replyTo, RaftException error) implements Command {
    @Override
    public Kind kind() {
      return Kind.READ_FAILED;
    }
  }

  /**
   * Completes a local request (such as a membership change) with a value.
   *
   * @param replyTo the token the request came with
   * @param value the result
   */
  record Complete(Object replyTo, Object value) implements Command {
    @Override
    public Kind kind() {
      return Kind.COMPLETE;
    }
  }

  /**
   * Fails a local request.
   *
   * @param replyTo the token the request came with
   * @param error why
   */
  record Fail(Object replyTo, RaftException error) implements Command {
    @Override
    public Kind kind() {
      return Kind.FAIL;
    }
  }

  /**
   * Builds a snapshot of the state machine as of what it has applied once the earlier {@link
   * Apply} commands are done, and writes it to the snapshot store; the runtime reports the result
   * with {@link Engine#handleSnapshotBuilt} or {@link Engine#handleSnapshotFailed}.
   */
  record BuildSnapshot() implements Command {
    @Override
    public Kind kind() {
      return Kind.BUILD_SNAPSHOT;
    }
  }

  /**
   * Purges the log up to and including {@code upTo}, after the IO issued before it; need not be
   * durable. The engine has forgotten those entries already.
   *
   * @param upTo the last entry to purge; covered by a durable snapshot
   */
  record PurgeLog(LogId upTo) implements Command {
    @Override
    public Kind kind() {
      return Kind.PURGE_LOG;
    }
  }

  /**
   * Streams this node's latest snapshot to {@code target} in chunks of at most {@link
   * io.raftkit.api.Config#snapshotMaxChunkSize()} bytes, one chunk in flight at a time, while this
   * node is leader of {@code term}; the runtime reports the end with {@link
   * Engine#handleSnapshotSent} or {@link Engine#handleSnapshotSendFailed}.
   *
   * @param target the follower
   * @param term the leader's term the chunks carry
   */
  record SendSnapshot(long target, long term) implements Command {
    @Override
    public Kind kind() {
      return Kind.SEND_SNAPSHOT;
    }
  }

  /**
   * Writes one received snapshot chunk (its sender's term was checked). The runtime answers the
   * chunk itself; after the last one it makes the snapshot durable and calls {@link
   * Engine#handleSnapshotReceived} with {@code replyTo}, which then answers.
   *
   * @param request the chunk
   * @param replyTo the token the answer carries
   */
  record ReceiveSnapshotChunk(InstallSnapshotRequest request, Object replyTo) implements Command {
    @Override
    public Kind kind() {
      return Kind.RECEIVE_SNAPSHOT_CHUNK;
    }
  }

  /**
   * Replaces the state machine's state with the latest snapshot in the store, which is {@code
   * meta}, after the {@link Apply} commands before it; then purges the log up to {@code
   * meta.lastLogId()}. An IO: the log writer does no later IO before the state machine is
   * restored and the log purged, and reports {@code ioSeq} done then.
   *
   * @param meta the snapshot
   * @param ioSeq this IO's sequence number
   */
  record InstallSnapshot(SnapshotMeta meta, long ioSeq) implements Command {
    @Override
    public Kind kind() {
      return Kind.INSTALL_SNAPSHOT;
    }
  }

  /**
   * Asks the leader for a read index on behalf of the reads of one batch; the answer goes back
   * with {@link Engine#handleReadIndexResponse} or {@link Engine#handleReadIndexFailure}, with
   * {@code batch}.
   *
   * @param target the leader
   * @param request the request
   * @param batch identifies the reads waiting for the answer
   */
  record SendReadIndex(long target, ReadIndexRequest request, long batch) implements Command {
    @Override
    public Kind kind() {
      return Kind.SEND_READ_INDEX;
    }
  }
}
