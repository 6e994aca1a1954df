package io.raftkit.wire;

import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import java.util.Objects;

/**
 * One frame on the wire, as raft-api types: what {@link WireCodec} encodes and decodes.
 *
 * <p>A connection starts with a {@link Hello} from the side that connected, answered by a {@link
 * HelloReply}; then {@link Request}s flow one way and {@link Response}s or {@link Failure}s the
 * other, paired by correlation id. Raft messages carry no cluster id: the handshake checks it once
 * per connection.
 */
public sealed interface WireFrame
    permits WireFrame.Hello,
        WireFrame.HelloReply,
        WireFrame.Request,
        WireFrame.Response,
        WireFrame.Failure,
        WireFrame.Unsupported {

  /** The concrete frame types, for exhaustive switches; the code is the schema's field number. */
  enum Kind {
    /** {@link Hello}. */
    HELLO,
    /** {@link HelloReply}. */
    HELLO_REPLY,
    /** {@link Request}. */
    REQUEST,
    /** {@link Response}. */
    RESPONSE,
    /** {@link Failure}. */
    FAILURE,
    /** {@link Unsupported}. */
    UNSUPPORTED
  }

  /**
   * Which frame this is.
   *
   * @return the kind
   */
  Kind kind();

  /**
   * The correlation id pairing a response or failure with its request; 0 for the handshake.
   *
   * @return the id
   */
  long correlationId();

  /**
   * The first frame on a connection, from the side that connected.
   *
   * @param protocolVersion the sender's {@link WireCodec#PROTOCOL_VERSION}
   * @param clusterId the sender's cluster
   * @param nodeId the sender's node id
   * @param groupId the Raft group, 0 today
   * @param targetNodeId the node the sender expects to reach, or 0 for any
   */
  record Hello(int protocolVersion, String clusterId, long nodeId, long groupId, long targetNodeId)
      implements WireFrame {

    /** Validates the fields. */
    public Hello {
      Objects.requireNonNull(clusterId, "clusterId");
    }

    /** {@inheritDoc} */
    @Override
    public Kind kind() {
      return Kind.HELLO;
    }

    /** {@inheritDoc} */
    @Override
    public long correlationId() {
      return 0;
    }
  }

  /**
   * The answer to a {@link Hello}. A refused peer is closed after this frame.
   *
   * @param accepted whether the connection may carry RPCs
   * @param protocolVersion the answering side's {@link WireCodec#PROTOCOL_VERSION}
   * @param clusterId the answering side's cluster
   * @param nodeId the answering side's node id
   * @param groupId the Raft group, 0 today
   * @param reason why the hello was refused (name=value pairs), empty when accepted
   */
  record HelloReply(
      boolean accepted, int protocolVersion, String clusterId, long nodeId, long groupId, String reason)
      implements WireFrame {

    /** Validates the fields. */
    public HelloReply {
      Objects.requireNonNull(clusterId, "clusterId");
      Objects.requireNonNull(reason, "reason");
    }

    /** {@inheritDoc} */
    @Override
    public Kind kind() {
      return Kind.HELLO_REPLY;
    }

    /** {@inheritDoc} */
    @Override
    public long correlationId() {
      return 0;
    }
  }

  /**
   * A Raft request.
   *
   * @param correlationId chosen by the sender, echoed by the response
   * @param request the request
   */
  record Request(long correlationId, RaftRequest request) implements WireFrame {

    /** Validates the fields. */
    public Request {
      Objects.requireNonNull(request, "request");
    }

    /** {@inheritDoc} */
    @Override
    public Kind kind() {
      return Kind.REQUEST;
    }
  }

  /**
   * A Raft response.
   *
   * @param correlationId the request's correlation id
   * @param response the response
   */
  record Response(long correlationId, RaftResponse response) implements WireFrame {

    /** Validates the fields. */
    public Response {
      Objects.requireNonNull(response, "response");
    }

    /** {@inheritDoc} */
    @Override
    public Kind kind() {
      return Kind.RESPONSE;
    }
  }

  /**
   * The request could not be served: the handler failed, the node is closing, or the request is
   * of a kind the receiver does not support.
   *
   * @param correlationId the request's correlation id
   * @param message why, as name=value pairs
   */
  record Failure(long correlationId, String message) implements WireFrame {

    /** Validates the fields. */
    public Failure {
      Objects.requireNonNull(message, "message");
    }

    /** {@inheritDoc} */
    @Override
    public Kind kind() {
      return Kind.FAILURE;
    }
  }

  /**
   * A well-formed frame whose body this version cannot turn into raft-api types: a newer peer's
   * RPC, or one defined in the schema before raft-api has it (install-snapshot chunk, timeout-now,
   * read-index). Decoded, never encoded; a receiver answers a request it cannot serve with a
   * {@link Failure} so that the sender does not wait for its timeout.
   *
   * @param correlationId the frame's correlation id
   * @param bodyNumber the schema field number of the body, 0 if the frame had none
   */
  record Unsupported(long correlationId, int bodyNumber) implements WireFrame {

    /** {@inheritDoc} */
    @Override
    public Kind kind() {
      return Kind.UNSUPPORTED;
    }
  }
}
