package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where the kernel's control groups are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cpuPeriodMicros is the CFS period the kubelet uses; the quota is limits.cpu of it.
const cpuPeriodMicros = 100000

// Cgroup drivers: the kubelet's own (v2), or v1's memory and cpu hierarchies on a
// machine that mounts no cgroup2 controllers (the same limits, other file names).
const (
	CgroupV2   = "cgroup v2"
	CgroupV1   = "cgroup v1"
	CgroupNone = "none"
)

// cgroups places each process of one sandbox into a control group of its own with
// the container's limits, like the kubelet does for each container.
type cgroups struct {
	Driver string `json:"driver"`
	// Why says why Driver is none or v1.
	Why string `json:"why,omitempty"`
	ID  string `json:"id"`
}

// detectCgroups picks the driver this machine allows.
func detectCgroups(id string) cgroups {
	cg := cgroups{ID: id, Driver: CgroupNone}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		cg.Why = fmt.Sprintf("statfs %s: %v", cgroupRoot, err)
		return cg
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		controllers, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
		if err == nil && hasWords(string(controllers), "memory", "cpu") && writable(cgroupRoot) {
			cg.Driver = CgroupV2
			return cg
		}
		cg.Why = fmt.Sprintf("%s is cgroup2 but its memory and cpu controllers are not available or not writable", cgroupRoot)
		return cg
	}
	cg.Why = fmt.Sprintf("%s is not cgroup2 (a v1/hybrid layout)", cgroupRoot)
	if isCgroupV1(filepath.Join(cgroupRoot, "memory")) && isCgroupV1(filepath.Join(cgroupRoot, "cpu")) &&
		writable(filepath.Join(cgroupRoot, "memory")) && writable(filepath.Join(cgroupRoot, "cpu")) {
		cg.Driver = CgroupV1
		cg.Why += ": limits go to v1's memory.limit_in_bytes and cpu.cfs_quota_us, same semantics"
		return cg
	}
	cg.Why += " and its v1 memory and cpu hierarchies are not writable: no limit is enforced"
	return cg
}

func isCgroupV1(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC
}

func writable(dir string) bool { return unix.Access(dir, unix.W_OK) == nil }

func hasWords(text string, words ...string) bool {
	fields := strings.Fields(text)
	for _, w := range words {
		found := false
		for _, f := range fields {
			found = found || f == w
		}
		if !found {
			return false
		}
	}
	return true
}

// dirs returns the group folders of process key (one per hierarchy).
func (c cgroups) dirs(key string) []string {
	name := strings.ReplaceAll(key, "/", "-")
	switch c.Driver {
	case CgroupV2:
		return []string{filepath.Join(cgroupRoot, namePrefix+c.ID, name)}
	case CgroupV1:
		return []string{
			filepath.Join(cgroupRoot, "memory", namePrefix+c.ID, name),
			filepath.Join(cgroupRoot, "cpu", namePrefix+c.ID, name),
		}
	}
	return nil
}

// prepare creates key's group with its limits (before each start: a restart after an
// OOM kill finds it as it was).
func (c cgroups) prepare(key string, r Resources) error {
	if c.Driver == CgroupNone {
		return nil
	}
	if c.Driver == CgroupV2 {
		parent := filepath.Join(cgroupRoot, namePrefix+c.ID)
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("cgroup %s: %w", parent, err)
		}
		// Children get the controllers only when every ancestor hands them down.
		for _, dir := range []string{cgroupRoot, parent} {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +cpu"), 0o644); err != nil {
				return fmt.Errorf("enable memory and cpu controllers in %s: %w", dir, err)
			}
		}
	}
	for _, dir := range c.dirs(key) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
	}
	mem, cpu := "max", "max"
	if r.MemoryBytes > 0 {
		mem = strconv.FormatInt(r.MemoryBytes, 10)
	}
	if r.CPUMilli > 0 {
		cpu = strconv.FormatInt(r.CPUMilli*cpuPeriodMicros/1000, 10)
	}
	var writes [][2]string
	switch c.Driver {
	case CgroupV2:
		dir := c.dirs(key)[0]
		writes = [][2]string{
			{filepath.Join(dir, "memory.max"), mem},
			{filepath.Join(dir, "memory.swap.max"), "0"},
			{filepath.Join(dir, "cpu.max"), cpu + " " + strconv.Itoa(cpuPeriodMicros)},
		}
	case CgroupV1:
		memDir, cpuDir := c.dirs(key)[0], c.dirs(key)[1]
		if mem == "max" {
			mem = "-1"
		}
		if cpu == "max" {
			cpu = "-1"
		}
		writes = [][2]string{
			{filepath.Join(memDir, "memory.limit_in_bytes"), mem},
			{filepath.Join(cpuDir, "cpu.cfs_period_us"), strconv.Itoa(cpuPeriodMicros)},
			{filepath.Join(cpuDir, "cpu.cfs_quota_us"), cpu},
		}
	}
	for _, w := range writes {
		if err := os.WriteFile(w[0], []byte(w[1]), 0o644); err != nil {
			if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(w[0], "swap.max") {
				continue // no swap accounting: nothing to switch off
			}
			return fmt.Errorf("set %s to %s: %w", w[0], w[1], err)
		}
	}
	return nil
}

// attach moves pid into key's group.
func (c cgroups) attach(key string, pid int) error {
	for _, dir := range c.dirs(key) {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("move pid %d into %s: %w", pid, dir, err)
		}
	}
	return nil
}

// OOMKills is how often the kernel's OOM killer ended a process of key's group.
func (c cgroups) OOMKills(key string) (int, error) {
	dirs := c.dirs(key)
	if len(dirs) == 0 {
		return 0, fmt.Errorf("no cgroup: %s", c.Why)
	}
	file := filepath.Join(dirs[0], "memory.events")
	if c.Driver == CgroupV1 {
		file = filepath.Join(dirs[0], "memory.oom_control")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("%s has no oom_kill count", file)
}

// MemoryLimit reads key's memory limit back from the kernel (bytes; 0: none).
func (c cgroups) MemoryLimit(key string) (int64, error) {
	dirs := c.dirs(key)
	if len(dirs) == 0 {
		return 0, fmt.Errorf("no cgroup: %s", c.Why)
	}
	file := filepath.Join(dirs[0], "memory.max")
	if c.Driver == CgroupV1 {
		file = filepath.Join(dirs[0], "memory.limit_in_bytes")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	text := strings.TrimSpace(string(raw))
	if text == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", file, err)
	}
	if n >= 1<<62 { // v1's "unlimited"
		return 0, nil
	}
	return n, nil
}

// removeCgroups removes every group of sandbox id (its processes are gone by then).
func removeCgroups(id string) error {
	var errs []error
	for _, parent := range []string{
		filepath.Join(cgroupRoot, namePrefix+id),
		filepath.Join(cgroupRoot, "memory", namePrefix+id),
		filepath.Join(cgroupRoot, "cpu", namePrefix+id),
	} {
		entries, err := os.ReadDir(parent)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				if err := os.Remove(filepath.Join(parent, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
				}
			}
		}
		if err := os.Remove(parent); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}

// listCgroupIDs returns the ids of sandboxes that have groups left.
func listCgroupIDs() []string {
	var ids []string
	for _, dir := range []string{cgroupRoot, filepath.Join(cgroupRoot, "memory"), filepath.Join(cgroupRoot, "cpu")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if id, ok := strings.CutPrefix(e.Name(), namePrefix); ok && e.IsDir() && len(id) == 6 {
				ids = append(ids, id)
			}
		}
	}
	return ids
}
