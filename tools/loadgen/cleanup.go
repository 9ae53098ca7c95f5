package loadgen

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// KeyStore is the part of a go-redis client that cleanup needs: SCAN and UNLINK
// only (never KEYS, FLUSHDB or FLUSHALL).
type KeyStore interface {
	Scan(ctx context.Context, cursor uint64, match string, count int64) *redis.ScanCmd
	Unlink(ctx context.Context, keys ...string) *redis.IntCmd
}

// scanCount is the SCAN COUNT hint: large enough to finish quickly, small enough
// to keep each call short on a busy server.
const scanCount = 1000

// Cleanup deletes every key under prefix with SCAN MATCH prefix* and UNLINK and
// returns how many it deleted. Keys SCAN returns that do not carry the prefix are
// never touched.
func Cleanup(ctx context.Context, store KeyStore, prefix string) (int, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return 0, fmt.Errorf("cleanup: %w", err)
	}
	deleted := 0
	err := scanPrefix(ctx, store, prefix, func(keys []string) error {
		n, err := store.Unlink(ctx, keys...).Result()
		if err != nil {
			return fmt.Errorf("unlink %d keys under %q: %w", len(keys), prefix, err)
		}
		deleted += int(n)
		return nil
	})
	if err != nil {
		return deleted, fmt.Errorf("cleanup: %w", err)
	}
	return deleted, nil
}

// Remaining counts the keys still under prefix (SCAN, not KEYS), to prove a
// cleanup left none.
func Remaining(ctx context.Context, store KeyStore, prefix string) (int, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return 0, fmt.Errorf("remaining: %w", err)
	}
	count := 0
	err := scanPrefix(ctx, store, prefix, func(keys []string) error {
		count += len(keys)
		return nil
	})
	if err != nil {
		return count, fmt.Errorf("remaining: %w", err)
	}
	return count, nil
}

// scanPrefix walks the whole keyspace once and hands each non-empty page of keys
// carrying prefix to visit.
func scanPrefix(ctx context.Context, store KeyStore, prefix string, visit func([]string) error) error {
	var cursor uint64
	for {
		keys, next, err := store.Scan(ctx, cursor, prefix+"*", scanCount).Result()
		if err != nil {
			return fmt.Errorf("scan %q at cursor %d: %w", prefix+"*", cursor, err)
		}
		mine := keys[:0]
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				mine = append(mine, k)
			}
		}
		if len(mine) > 0 {
			if err := visit(mine); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// NewKeyStoreClient returns a go-redis client for Cleanup and Remaining with the
// endpoint's deadlines (caller closes it).
func NewKeyStoreClient(ep Endpoint) *redis.Client {
	ep = ep.WithDefaults()
	return redis.NewClient(&redis.Options{
		Addr:            ep.Addr,
		Username:        ep.Username,
		Password:        ep.Password,
		DialTimeout:     ep.DialTimeout,
		ReadTimeout:     ep.ReadTimeout,
		WriteTimeout:    ep.WriteTimeout,
		PoolSize:        1,
		DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
}
