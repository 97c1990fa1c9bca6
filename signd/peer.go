package signd

import (
	"fmt"
	"os/user"
	"strconv"
)

// A Peer is the process at the other end of a Unix socket, as the kernel
// reports it (SO_PEERCRED): it cannot lie about it.
type Peer struct {
	UID, GID, PID uint32
}

func (p Peer) String() string { return fmt.Sprintf("uid %d gid %d pid %d", p.UID, p.GID, p.PID) }

// Access says which peers may use a socket: by user, or by group (a
// peer's primary group, or any group its user is a member of). Socket
// file permissions come first; this holds even for root, whom file
// permissions do not stop.
type Access struct {
	UIDs map[uint32]bool
	GIDs map[uint32]bool
}

// NewAccess resolves user and group names (or numbers).
func NewAccess(users, groups []string) (Access, error) {
	a := Access{UIDs: map[uint32]bool{}, GIDs: map[uint32]bool{}}
	for _, u := range users {
		id, err := lookupID(u, "user")
		if err != nil {
			return Access{}, err
		}
		a.UIDs[id] = true
	}
	for _, g := range groups {
		id, err := lookupID(g, "group")
		if err != nil {
			return Access{}, err
		}
		a.GIDs[id] = true
	}
	return a, nil
}

// lookupID resolves a user or group given by name or number.
func lookupID(s, kind string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	var id string
	if kind == "user" {
		u, err := user.Lookup(s)
		if err != nil {
			return 0, fmt.Errorf("user %q: %w", s, err)
		}
		id = u.Uid
	} else {
		g, err := user.LookupGroup(s)
		if err != nil {
			return 0, fmt.Errorf("group %q: %w", s, err)
		}
		id = g.Gid
	}
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q: id %q is not a number", kind, s, id)
	}
	return uint32(n), nil
}

// Allows reports whether p may use the socket.
func (a Access) Allows(p Peer) bool {
	if a.UIDs[p.UID] || a.GIDs[p.GID] {
		return true
	}
	if len(a.GIDs) == 0 {
		return false
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(p.UID), 10))
	if err != nil {
		return false
	}
	gids, err := u.GroupIds()
	if err != nil {
		return false
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil && a.GIDs[uint32(n)] {
			return true
		}
	}
	return false
}
