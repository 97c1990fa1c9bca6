package log

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MySQL driver, as tessera's AWS storage uses
)

// reservationLease is how long another process respects a pending
// reservation: twice addTimeout, so a holder that is alive has either
// sequenced its entry or given up by then.
const reservationLease = 2 * addTimeout

// mysqlIndex is the OriginIndex shared by several server processes: rows
// in the MySQL database that tessera's AWS storage sequences with. A
// submission reserves its origin's row with a compare-and-set before it is
// sequenced, and the reservation (pending, with a lease) keeps other
// processes from logging the origin until the entry's index is recorded.
// No connection is held while an entry is sequenced.
type mysqlIndex struct {
	db    *sql.DB
	locks originLocks
	now   func() time.Time
}

var mysqlSchema = []string{
	`CREATE TABLE IF NOT EXISTS TreelogOrigins (
		origin VARBINARY(255) NOT NULL,
		ts BIGINT NOT NULL,
		hash BINARY(32) NOT NULL,
		idx BIGINT UNSIGNED NULL,
		lease BIGINT NOT NULL DEFAULT 0,
		PRIMARY KEY (origin))`,
	`CREATE TABLE IF NOT EXISTS TreelogEntries (
		hash BINARY(32) NOT NULL,
		idx BIGINT UNSIGNED NOT NULL,
		PRIMARY KEY (hash))`,
	`CREATE TABLE IF NOT EXISTS TreelogScan (
		id INT NOT NULL,
		scanned BIGINT UNSIGNED NOT NULL,
		PRIMARY KEY (id))`,
	`INSERT IGNORE INTO TreelogScan (id, scanned) VALUES (0, 0)`,
}

func newMySQLIndex(ctx context.Context, dsn string) (*mysqlIndex, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening MySQL: %w", err)
	}
	db.SetMaxOpenConns(64)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to MySQL: %w", err)
	}
	for _, stmt := range mysqlSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("creating treelog tables: %w", err)
		}
	}
	return &mysqlIndex{db: db, now: time.Now}, nil
}

// Lock serializes the origin within this process (other processes are
// kept out by the reservation) and reads the origin's row.
func (m *mysqlIndex) Lock(ctx context.Context, origin string) (Latest, func(), error) {
	unlock := m.locks.lock(origin)
	var cur Latest
	var ts, lease int64
	var hash []byte
	var idx sql.NullInt64
	err := m.db.QueryRowContext(ctx, "SELECT ts, hash, idx, lease FROM TreelogOrigins WHERE origin = ?", origin).Scan(&ts, &hash, &idx, &lease)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return cur, unlock, nil
	case err != nil:
		unlock()
		return Latest{}, nil, fmt.Errorf("reading origin %q: %w", origin, err)
	}
	cur.Found, cur.Timestamp, cur.Pending = true, time.Unix(ts, 0).UTC(), !idx.Valid
	copy(cur.Hash[:], hash)
	cur.Index = uint64(idx.Int64)
	cur.Busy = cur.Pending && lease > m.now().Unix()
	return cur, unlock, nil
}

// Reserve sets the origin's row to next if it still is cur (compare and
// set), with a lease when next is pending.
func (m *mysqlIndex) Reserve(ctx context.Context, origin string, cur, next Latest) error {
	var idx any
	var lease int64
	if !next.Pending {
		idx = next.Index
	} else {
		lease = m.now().Add(reservationLease).Unix()
	}
	var res sql.Result
	var err error
	switch {
	case !cur.Found && !next.Found:
		return nil
	case !cur.Found:
		res, err = m.db.ExecContext(ctx, "INSERT IGNORE INTO TreelogOrigins (origin, ts, hash, idx, lease) VALUES (?, ?, ?, ?, ?)",
			origin, next.Timestamp.Unix(), next.Hash[:], idx, lease)
	case !next.Found:
		res, err = m.db.ExecContext(ctx, "DELETE FROM TreelogOrigins WHERE origin = ? AND ts = ? AND hash = ?", origin, cur.Timestamp.Unix(), cur.Hash[:])
	default:
		res, err = m.db.ExecContext(ctx, "UPDATE TreelogOrigins SET ts = ?, hash = ?, idx = ?, lease = ? WHERE origin = ? AND ts = ? AND hash = ?",
			next.Timestamp.Unix(), next.Hash[:], idx, lease, origin, cur.Timestamp.Unix(), cur.Hash[:])
	}
	if err != nil {
		return fmt.Errorf("reserving origin %q: %w", origin, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		if next.Found && cur.Found && bytes.Equal(next.Hash[:], cur.Hash[:]) && next.Timestamp.Equal(cur.Timestamp) {
			return nil // unchanged
		}
		return ErrContended
	}
	return nil
}

func (m *mysqlIndex) Observe(ctx context.Context, origin string, ts time.Time, hash [32]byte, index uint64) error {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT IGNORE INTO TreelogEntries (hash, idx) VALUES (?, ?)", hash[:], index); err != nil {
		return fmt.Errorf("recording entry %d: %w", index, err)
	}
	// A newer TIMESTAMP wins; the pending reservation of this very entry
	// gets its index. (MySQL applies these assignments left to right.)
	if _, err := tx.ExecContext(ctx, `INSERT INTO TreelogOrigins (origin, ts, hash, idx) VALUES (?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE
			idx = IF(ts < VALUES(ts) OR (hash = VALUES(hash) AND idx IS NULL), VALUES(idx), idx),
			hash = IF(ts < VALUES(ts), VALUES(hash), hash),
			ts = GREATEST(ts, VALUES(ts))`, origin, ts.Unix(), hash[:], index); err != nil {
		return fmt.Errorf("recording origin %q: %w", origin, err)
	}
	return tx.Commit()
}

func (m *mysqlIndex) Lookup(ctx context.Context, hash [32]byte) (uint64, bool, error) {
	var idx uint64
	err := m.db.QueryRowContext(ctx, "SELECT idx FROM TreelogEntries WHERE hash = ?", hash[:]).Scan(&idx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return idx, err == nil, err
}

func (m *mysqlIndex) Scanned(ctx context.Context) (uint64, error) {
	var n uint64
	err := m.db.QueryRowContext(ctx, "SELECT scanned FROM TreelogScan WHERE id = 0").Scan(&n)
	return n, err
}

func (m *mysqlIndex) SetScanned(ctx context.Context, n uint64) error {
	_, err := m.db.ExecContext(ctx, "UPDATE TreelogScan SET scanned = GREATEST(scanned, ?) WHERE id = 0", n)
	return err
}

func (m *mysqlIndex) Close() error { return m.db.Close() }
