package io.raftkit.api;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A change of membership, in the style of openraft's {@code ChangeMembers}. Changes of the voter
 * set go through joint consensus (§6 of the Raft paper): C(old,new) commits first, then C(new).
 * Changes of learners only are one entry.
 */
public sealed interface ChangeMembers {

  /** The change types, for exhaustive switch expressions. */
  enum Kind {
    /** {@link AddVoterIds}. */
    ADD_VOTER_IDS,
    /** {@link AddVoters}. */
    ADD_VOTERS,
    /** {@link RemoveVoters}. */
    REMOVE_VOTERS,
    /** {@link ReplaceAllVoters}. */
    REPLACE_ALL_VOTERS,
    /** {@link AddNodes}. */
    ADD_NODES,
    /** {@link RemoveNodes}. */
    REMOVE_NODES,
    /** {@link SetNodes}. */
    SET_NODES
  }

  /** Which change this is. */
  Kind kind();

  /**
   * Makes existing members (learners) voters.
   *
   * @param ids members that become voters; each must already be a member
   */
  record AddVoterIds(Set<Long> ids) implements ChangeMembers {
    /** Copies the ids. */
    public AddVoterIds {
      ids = Set.copyOf(Objects.requireNonNull(ids, "ids"));
    }

    @Override
    public Kind kind() {
      return Kind.ADD_VOTER_IDS;
    }
  }

  /**
   * Adds voters with their addresses (new nodes, or learners).
   *
   * @param voters id to address
   */
  record AddVoters(Map<Long, String> voters) implements ChangeMembers {
    /** Copies the map. */
    public AddVoters {
      voters = Map.copyOf(Objects.requireNonNull(voters, "voters"));
    }

    @Override
    public Kind kind() {
      return Kind.ADD_VOTERS;
    }
  }

  /**
   * Removes voters; with {@code retain} they stay as learners.
   *
   * @param ids voters to remove
   */
  record RemoveVoters(Set<Long> ids) implements ChangeMembers {
    /** Copies the ids. */
    public RemoveVoters {
      ids = Set.copyOf(Objects.requireNonNull(ids, "ids"));
    }

    @Override
    public Kind kind() {
      return Kind.REMOVE_VOTERS;
    }
  }

  /**
   * Makes exactly these members the voters; voters not listed are removed (kept as learners with
   * {@code retain}).
   *
   * @param ids the new voter set; each must already be a member
   */
  record ReplaceAllVoters(Set<Long> ids) implements ChangeMembers {
    /** Copies the ids. */
    public ReplaceAllVoters {
      ids = Set.copyOf(Objects.requireNonNull(ids, "ids"));
    }

    @Override
    public Kind kind() {
      return Kind.REPLACE_ALL_VOTERS;
    }
  }

  /**
   * Adds learners (nodes that receive the log and never vote).
   *
   * @param nodes id to address; must not be members already
   */
  record AddNodes(Map<Long, String> nodes) implements ChangeMembers {
    /** Copies the map. */
    public AddNodes {
      nodes = Map.copyOf(Objects.requireNonNull(nodes, "nodes"));
    }

    @Override
    public Kind kind() {
      return Kind.ADD_NODES;
    }
  }

  /**
   * Removes learners.
   *
   * @param ids learners to remove; a voter must be removed as a voter first
   */
  record RemoveNodes(Set<Long> ids) implements ChangeMembers {
    /** Copies the ids. */
    public RemoveNodes {
      ids = Set.copyOf(Objects.requireNonNull(ids, "ids"));
    }

    @Override
    public Kind kind() {
      return Kind.REMOVE_NODES;
    }
  }

  /**
   * Sets (adds or re-addresses) members' addresses.
   *
   * @param nodes id to address
   */
  record SetNodes(Map<Long, String> nodes) implements ChangeMembers {
    /** Copies the map. */
    public SetNodes {
      nodes = Map.copyOf(Objects.requireNonNull(nodes, "nodes"));
    }

    @Override
    public Kind kind() {
      return Kind.SET_NODES;
    }
  }

  /**
   * The membership this change leads to from {@code current} (uniform), or why it is refused.
   *
   * @param current the current uniform membership
   * @param retain whether removed voters stay as learners
   * @return the target membership (uniform)
   * @throws IllegalArgumentException naming what is wrong with the change
   */
  default Membership apply(final Membership current, final boolean retain) {
    if (current.isJoint()) {
      throw new IllegalArgumentException("a change is in progress: " + current);
    }
    final Set<Long> voters = new java.util.TreeSet<>(current.configs().get(0));
    final Map<Long, String> nodes = new java.util.TreeMap<>(current.nodes());
    final Set<Long> removed = new java.util.TreeSet<>();
    switch (kind()) {
      case ADD_VOTER_IDS -> {
        for (final Long id : ((AddVoterIds) this).ids()) {
          if (!nodes.containsKey(id)) {
            throw new IllegalArgumentException("node " + id + " is not a member; add it as a learner first or"
                + " give its address with AddVoters");
          }
          voters.add(id);
        }
      }
      case ADD_VOTERS -> {
        for (final Map.Entry<Long, String> e : ((AddVoters) this).voters().entrySet()) {
          nodes.put(e.getKey(), e.getValue());
          voters.add(e.getKey());
        }
      }
      case REMOVE_VOTERS -> {
        for (final Long id : ((RemoveVoters) this).ids()) {
          if (!voters.remove(id)) {
            throw new IllegalArgumentException("node " + id + " is not a voter of " + current);
          }
          removed.add(id);
        }
      }
      case REPLACE_ALL_VOTERS -> {
        for (final Long id : ((ReplaceAllVoters) this).ids()) {
          if (!nodes.containsKey(id)) {
            throw new IllegalArgumentException("node " + id + " is not a member; add it as a learner first");
          }
        }
        for (final Long id : voters) {
          if (!((ReplaceAllVoters) this).ids().contains(id)) {
            removed.add(id);
          }
        }
        voters.clear();
        voters.addAll(((ReplaceAllVoters) this).ids());
      }
      case ADD_NODES -> {
        for (final Map.Entry<Long, String> e : ((AddNodes) this).nodes().entrySet()) {
          if (nodes.containsKey(e.getKey())) {
            throw new IllegalArgumentException("node " + e.getKey() + " is already a member");
          }
          nodes.put(e.getKey(), e.getValue());
        }
      }
      case REMOVE_NODES -> {
        for (final Long id : ((RemoveNodes) this).ids()) {
          if (voters.contains(id)) {
            throw new IllegalArgumentException("node " + id + " is a voter; remove it with RemoveVoters first");
          }
          if (nodes.remove(id) == null) {
            throw new IllegalArgumentException("node " + id + " is not a member");
          }
        }
      }
      case SET_NODES -> nodes.putAll(((SetNodes) this).nodes());
    }
    if (voters.isEmpty()) {
      throw new IllegalArgumentException("the change would leave no voter: " + this);
    }
    if (!retain) {
      for (final Long id : removed) {
        nodes.remove(id);
      }
    }
    return new Membership(java.util.List.of(voters), nodes);
  }
}
