package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
)

// staleExporterPasswordFile, in the state dir, pins the exporters to a password: the
// one `up` generated, when metrics.extraEnvVars takes REDIS_PASSWORD from a Secret
// other than auth.existingSecret (a rotation never reaches that Secret).
const staleExporterPasswordFile = "exporter-pinned-password"

// partitionTable is the nftables table a Partition puts into an instance's namespace.
const partitionTable = "rsc-partition"

// Partition drops every packet between instance and the master inside the instance's
// pod namespace (both directions), the way a broken network between two nodes would:
// connections hang, nothing is refused. The instance keeps serving its other clients.
// Revert deletes the table.
func (s *State) Partition(instance string) (Revert, error) {
	inst, err := s.Instance(instance)
	if err != nil {
		return nil, err
	}
	if inst.Role == "master" {
		return nil, fmt.Errorf("partition: %s is the master; name a replica", instance)
	}
	master, err := s.Instance("master")
	if err != nil {
		return nil, err
	}
	masterAddr, err := netip.ParseAddrPort(master.Addr)
	if err != nil {
		return nil, fmt.Errorf("partition: master address %q: %w", master.Addr, err)
	}
	handle, err := netns.GetFromName(inst.Netns)
	if err != nil {
		return nil, fmt.Errorf("partition: open namespace %s: %w", inst.Netns, err)
	}
	defer handle.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(handle)))
	if err != nil {
		return nil, fmt.Errorf("partition: nftables in %s: %w", inst.Netns, err)
	}
	table := conn.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: partitionTable})
	accept := nftables.ChainPolicyAccept
	for _, hook := range []struct {
		name   string
		hook   *nftables.ChainHook
		offset uint32 // 12: source address, 16: destination address
	}{
		{"from-master", nftables.ChainHookInput, 12},
		{"to-master", nftables.ChainHookOutput, 16},
	} {
		chain := conn.AddChain(&nftables.Chain{
			Name: hook.name, Table: table, Type: nftables.ChainTypeFilter,
			Hooknum: hook.hook, Priority: nftables.ChainPriorityFilter, Policy: &accept,
		})
		exprs := append(matchPrefix(hook.offset, netip.PrefixFrom(masterAddr.Addr(), 32)), &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
		conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: exprs})
	}
	if err := conn.Flush(); err != nil {
		return nil, fmt.Errorf("partition %s from the master: %w", instance, err)
	}
	return func(context.Context) error {
		handle, err := netns.GetFromName(inst.Netns)
		if err != nil {
			return fmt.Errorf("heal partition: open namespace %s: %w", inst.Netns, err)
		}
		defer handle.Close()
		conn, err := nftables.New(nftables.WithNetNSFd(int(handle)))
		if err != nil {
			return fmt.Errorf("heal partition: %w", err)
		}
		tables, err := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return fmt.Errorf("heal partition: list tables: %w", err)
		}
		for _, t := range tables {
			if t.Name == partitionTable {
				conn.DelTable(t)
				if err := conn.Flush(); err != nil {
					return fmt.Errorf("heal partition of %s: %w", instance, err)
				}
			}
		}
		return nil
	}, nil
}

// RotationStep is one restart of a password rotation, with how long it took.
type RotationStep struct {
	Instance string
	Took     time.Duration
}

// RotatePassword does what the homelab runbook prescribes for a new password: the
// Secret gets the new password (here: the password file), then each pod is
// restarted, the master first and then each replica, and each one's containers
// (redis and the exporter sidecar) start with the new password, like a StatefulSet
// rollout. Every step waits for its instance to answer PING with the new password.
// It returns the old password's holder only through the Redis it still opens.
func (s *State) RotatePassword(ctx context.Context, timeout time.Duration) ([]RotationStep, error) {
	if !s.AuthEnabled {
		return nil, errors.New("rotate password: auth.enabled is false, there is no password")
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("rotate password: %w", err)
	}
	password := hex.EncodeToString(raw)
	if err := writeFileAtomic(s.PasswordFile, []byte(password+"\n")); err != nil {
		return nil, fmt.Errorf("rotate password: update the password file: %w", err)
	}
	for _, inst := range s.Instances {
		conf := filepath.Join(s.Dir, "instances", inst.Name, "redis.conf")
		if err := rewritePassword(conf, password); err != nil {
			return nil, err
		}
	}
	var steps []RotationStep
	order := append([]Instance{}, s.Instances...) // master first: its order in the state
	for _, inst := range order {
		start := time.Now()
		if err := s.restartPod(ctx, inst, timeout); err != nil {
			return steps, fmt.Errorf("rotate password: restart %s: %w", inst.Name, err)
		}
		steps = append(steps, RotationStep{Instance: inst.Name, Took: time.Since(start).Round(time.Millisecond)})
	}
	return steps, nil
}

// restartPod stops an instance's containers (redis and exporter) and starts them
// again, like deleting the pod: both start with the Secret as it is now.
func (s *State) restartPod(ctx context.Context, inst Instance, timeout time.Duration) error {
	var reverts []Revert
	stopRedis, err := s.Stop(ctx, inst.Name, timeout)
	if stopRedis != nil {
		reverts = append(reverts, stopRedis)
	}
	if err == nil && inst.Exporter != nil {
		var stopExporter Revert
		stopExporter, err = s.StopExporter(ctx, inst.Name, timeout)
		if stopExporter != nil {
			reverts = append(reverts, stopExporter)
		}
	}
	var errs []error
	errs = append(errs, err)
	for _, revert := range reverts {
		errs = append(errs, revert(ctx))
	}
	return errors.Join(errs...)
}

// rewritePassword replaces requirepass and masterauth in a redis.conf.
func rewritePassword(conf, password string) error {
	raw, err := os.ReadFile(conf)
	if err != nil {
		return fmt.Errorf("rotate password: %w", err)
	}
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "requirepass "):
			lines[i] = "requirepass " + password
		case strings.HasPrefix(line, "masterauth "):
			lines[i] = "masterauth " + password
		}
	}
	if err := writeFileAtomic(conf, []byte(strings.Join(lines, "\n"))); err != nil {
		return fmt.Errorf("rotate password: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// OOMKills is how often the kernel's OOM killer ended a process of the instance's
// redis container (its cgroup's count).
func (s *State) OOMKills(instance string) (int, error) {
	if _, err := s.Instance(instance); err != nil {
		return 0, err
	}
	return s.Cgroups.OOMKills(instance)
}

// MemoryLimit is the instance's redis container memory limit as the kernel has it
// (bytes; 0 none), with the driver that enforces it.
func (s *State) MemoryLimit(instance string) (int64, string, error) {
	if _, err := s.Instance(instance); err != nil {
		return 0, "", err
	}
	if s.Cgroups.Driver == CgroupNone {
		return 0, CgroupNone, fmt.Errorf("no cgroup limits in this sandbox: %s", s.Cgroups.Why)
	}
	n, err := s.Cgroups.MemoryLimit(instance)
	return n, s.Cgroups.Driver, err
}
