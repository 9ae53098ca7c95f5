package probe

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// ReplicaView is what one replica showed: its own INFO replication and how soon
// the master's writes became readable on it.
type ReplicaView struct {
	Addr string `json:"addr"`
	Role string `json:"role"`
	// LinkStatus is master_link_status ("up" when the replication link works).
	LinkStatus string `json:"master_link_status"`
	// LagBytes is the master's offset minus this replica's offset when INFO was read.
	LagBytes int64 `json:"lag_bytes"`
	// Writes made on the master for this replica, Seen those read back on it within
	// the wait; MaxMillis and MedianMillis are the visibility delays of those seen.
	Writes       int     `json:"writes"`
	Seen         int     `json:"seen"`
	MaxMillis    float64 `json:"max_ms"`
	MedianMillis float64 `json:"median_ms"`
	Error        string  `json:"error,omitempty"`
}

// ReplicationReport is the answer of `redisprobe replication` (FR-006).
type ReplicationReport struct {
	Master string `json:"master"`
	// Role and ConnectedSlaves are the master's INFO replication fields.
	Role            string        `json:"role"`
	ConnectedSlaves int           `json:"connected_slaves"`
	Replicas        []ReplicaView `json:"replicas"`
	Cleanup         *Cleanup      `json:"cleanup,omitempty"`
	Error           string        `json:"error,omitempty"`
}

// ReplicationOptions say what `redisprobe replication` writes and how long it waits.
type ReplicationOptions struct {
	Replicas []string
	Prefix   string
	// Writes per replica; each is one SET with TTL on the master.
	Writes int
	// Wait bounds how long one write may take to show on a replica.
	Wait time.Duration
	TTL  time.Duration
}

// Replication writes keys under the prefix (with TTL) on the master, reads each back
// on every replica within the wait, reads INFO replication on all of them, and then
// deletes its keys, proving with SCAN that none is left on the master or a replica.
func Replication(ctx context.Context, ep loadgen.Endpoint, opts ReplicationOptions) ReplicationReport {
	rep := ReplicationReport{Master: ep.Addr}
	master := newClient(ep)
	defer master.Close()
	masterInfo := master.InfoMap(ctx, "replication")
	if err := masterInfo.Err(); err != nil {
		rep.Error = Redact(fmt.Sprintf("INFO replication on %s: %v", ep.Addr, err), ep.Password)
	}
	rep.Role = masterInfo.Item("Replication", "role")
	rep.ConnectedSlaves, _ = strconv.Atoi(masterInfo.Item("Replication", "connected_slaves"))
	masterOffset, _ := strconv.ParseInt(masterInfo.Item("Replication", "master_repl_offset"), 10, 64)
	for i, addr := range opts.Replicas {
		other := ep
		other.Addr = addr
		replica := newClient(other)
		view := replicaView(ctx, master, replica, addr, opts, fmt.Sprintf("%sr%d:", opts.Prefix, i), masterOffset)
		_ = replica.Close()
		view.Error = Redact(view.Error, ep.Password)
		rep.Replicas = append(rep.Replicas, view)
	}
	c := CleanupPrefix(context.WithoutCancel(ctx), ep, opts.Prefix, opts.Replicas)
	rep.Cleanup = &c
	return rep
}

func replicaView(ctx context.Context, master, replica *redis.Client, addr string, opts ReplicationOptions, prefix string, masterOffset int64) ReplicaView {
	view := ReplicaView{Addr: addr}
	info := replica.InfoMap(ctx, "replication")
	if err := info.Err(); err != nil {
		view.Error = fmt.Sprintf("INFO replication on %s: %v", addr, err)
		return view
	}
	view.Role, view.LinkStatus = info.Item("Replication", "role"), info.Item("Replication", "master_link_status")
	if offset, err := strconv.ParseInt(info.Item("Replication", "slave_repl_offset"), 10, 64); err == nil {
		view.LagBytes = max(masterOffset-offset, 0)
	}
	var delays []float64
	for i := range opts.Writes {
		key := prefix + strconv.Itoa(i)
		value := fmt.Sprintf("written-%d-%d", i, time.Now().UnixNano())
		view.Writes++
		if err := master.Set(ctx, key, value, opts.TTL).Err(); err != nil {
			view.Error = fmt.Sprintf("SET on the master: %v", err)
			break
		}
		delay, err := visibleWithin(ctx, replica, key, value, opts.Wait)
		if err != nil {
			view.Error = fmt.Sprintf("write %d not read back on %s within %s: %v", i, addr, opts.Wait, err)
			break
		}
		view.Seen++
		delays = append(delays, float64(delay)/float64(time.Millisecond))
	}
	if len(delays) > 0 {
		sort.Float64s(delays)
		view.MaxMillis, view.MedianMillis = delays[len(delays)-1], delays[len(delays)/2]
	}
	return view
}

// visibleWithin polls the replica until key holds value and returns how long that
// took from the SET's reply; an error when wait passes first.
func visibleWithin(ctx context.Context, replica *redis.Client, key, value string, wait time.Duration) (time.Duration, error) {
	began := time.Now()
	for {
		got, err := replica.Get(ctx, key).Result()
		if err == nil && got == value {
			return time.Since(began), nil
		}
		if time.Since(began) > wait {
			if err != nil && err != redis.Nil {
				return 0, err
			}
			return 0, fmt.Errorf("replica still has %q", got)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(time.Millisecond) // a poll step, not a wait for a condition
	}
}
