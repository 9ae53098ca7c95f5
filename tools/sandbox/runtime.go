package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/redis-shared/conformance/tools/values"
)

// Facts keys the sandbox states about itself (the report lists them under "Facts").
const (
	FactRedis          = "sandbox_redis"
	FactExporter       = "sandbox_exporter"
	FactDataFilesystem = "sandbox_data_filesystem"
	FactDataFsync      = "sandbox_data_fsync"
	FactResourceLimits = "sandbox_resource_limits"
	FactNotEmulated    = "sandbox_not_emulated"
)

// EnvRedis8Dir names the folder `make redis8` fills (redis-server and redis_exporter
// wrappers); by default bin/redis8 next to the conform binary or under the module root.
// "off" runs the machine's Debian packages (the fallback) on purpose.
const EnvRedis8Dir = "REDIS_SHARED_REDIS8_DIR"

// dataRootBase holds the instances' data when the state dir is on tmpfs: fsync there
// means nothing, so appendfsync would prove nothing.
const dataRootBase = "/var/lib/redis-shared-sandbox"

// Resources are a container's limits as the chart renders them (resources.limits).
type Resources struct {
	// MemoryBytes is limits.memory; 0 means no limit.
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
	// CPUMilli is limits.cpu in millicores; 0 means no limit.
	CPUMilli int64 `json:"cpuMilli,omitempty"`
}

func (r Resources) String() string {
	mem, cpu := "no memory limit", "no CPU limit"
	if r.MemoryBytes > 0 {
		mem = "memory " + resource.NewQuantity(r.MemoryBytes, resource.BinarySI).String()
	}
	if r.CPUMilli > 0 {
		cpu = "cpu " + resource.NewMilliQuantity(r.CPUMilli, resource.DecimalSI).String()
	}
	return mem + ", " + cpu
}

// resources reads <prefix>.resources.limits; requests are the scheduler's business.
func (r *reader) resources(prefix string) Resources {
	var out Resources
	read := func(key string) (resource.Quantity, bool) {
		raw, err := r.tree.Lookup(prefix + ".resources.limits." + key)
		if err != nil || raw == nil {
			return resource.Quantity{}, false
		}
		q, err := resource.ParseQuantity(fmt.Sprint(raw))
		if err != nil {
			r.fail(fmt.Errorf("%s.resources.limits.%s: %q is not a Kubernetes quantity", prefix, key, fmt.Sprint(raw)))
			return resource.Quantity{}, false
		}
		return q, true
	}
	if q, ok := read("memory"); ok {
		out.MemoryBytes = q.Value()
	}
	if q, ok := read("cpu"); ok {
		out.CPUMilli = q.MilliValue()
	}
	return out
}

// runtimeBinaries finds the Redis 8 build of `make redis8`, or falls back to Debian's
// packages on PATH; the returned fact says which and why.
func runtimeBinaries(metrics bool) (binaries, map[string]string, error) {
	bins, err := findBinaries(metrics)
	facts := map[string]string{}
	dir, why := redis8Dir()
	if dir != "" {
		bins.redis = filepath.Join(dir, "redis-server")
		if metrics {
			if _, statErr := os.Stat(filepath.Join(dir, "redis_exporter")); statErr == nil {
				bins.exporter = filepath.Join(dir, "redis_exporter")
			}
		}
		// Debian's redis-server is no longer needed; the exporter and Prometheus still are.
		if err != nil && bins.exporter != "" && (!metrics || bins.prometheus != "") {
			err = nil
		}
	}
	if err != nil && (bins.redis == "" || (metrics && (bins.exporter == "" || bins.prometheus == ""))) {
		return bins, nil, err
	}
	facts[FactRedis] = binaryVersion(bins.redis, "--version")
	if dir != "" {
		facts[FactRedis] += " (Debian trixie build from " + dir + ")"
	} else {
		facts[FactRedis] += " (FALLBACK to the machine's Debian redis-server, not Redis 8: " + why + ")"
	}
	if metrics {
		facts[FactExporter] = binaryVersion(bins.exporter, "--version")
	}
	return bins, facts, nil
}

// redis8Dir returns the folder holding the redis8 wrappers, or "" and why not.
func redis8Dir() (string, string) {
	var candidates []string
	env := os.Getenv(EnvRedis8Dir)
	if env == "off" {
		return "", EnvRedis8Dir + "=off"
	}
	if env != "" {
		candidates = append(candidates, env)
	}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "redis8"))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				candidates = append(candidates, filepath.Join(dir, "bin", "redis8"))
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, dir := range candidates {
		if info, err := os.Stat(filepath.Join(dir, "redis-server")); err == nil && info.Mode()&0o111 != 0 {
			return dir, ""
		}
	}
	return "", "no redis8 build in " + strings.Join(candidates, ", ") + " (run `make redis8`)"
}

// binaryVersion is the first line of `bin --version`, trimmed to what names the build.
func binaryVersion(bin, flag string) string {
	out, err := exec.Command(bin, flag).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s (version unknown: %v)", bin, err)
	}
	line := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	if i := strings.Index(line, "Redis server v="); i >= 0 {
		return "redis-server " + strings.Fields(line[i+len("Redis server v="):])[0]
	}
	if i := strings.Index(line, "Redis Metrics Exporter "); i >= 0 {
		return "redis_exporter " + strings.Fields(line[i+len("Redis Metrics Exporter "):])[0]
	}
	return line
}

// dataRoot says where the instances keep their data: the state dir unless that is on
// tmpfs, where fsync costs nothing and proves nothing; then a folder on the disk.
func dataRoot(stateDir, id string) (string, string, error) {
	root := filepath.Join(stateDir, "instances")
	fsType, err := filesystemType(stateDir)
	if err != nil {
		return "", "", err
	}
	if fsType == "tmpfs" || fsType == "ramfs" {
		root = filepath.Join(dataRootBase, id)
		if err := os.MkdirAll(root, 0o700); err != nil {
			return "", "", fmt.Errorf("data dir on disk: %w", err)
		}
		if fsType, err = filesystemType(root); err != nil {
			return "", "", err
		}
		if fsType == "tmpfs" || fsType == "ramfs" {
			return "", "", fmt.Errorf("%s is on %s too: the sandbox needs a disk for its data (fsync)", root, fsType)
		}
	}
	return root, fmt.Sprintf("%s under %s: fsync (appendfsync) reaches a real filesystem", fsType, root), nil
}

func filesystemType(path string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", path, err)
	}
	switch st.Type {
	case unix.TMPFS_MAGIC:
		return "tmpfs", nil
	case unix.RAMFS_MAGIC:
		return "ramfs", nil
	case unix.EXT4_SUPER_MAGIC:
		return "ext4", nil
	case unix.XFS_SUPER_MAGIC:
		return "xfs", nil
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs", nil
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs", nil
	default:
		return fmt.Sprintf("filesystem 0x%x", st.Type), nil
	}
}

// removeDataRoot removes sandbox id's data folder on the disk, if it made one.
func removeDataRoot(id string) error {
	if err := os.RemoveAll(filepath.Join(dataRootBase, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove data of sandbox %s: %w", id, err)
	}
	return nil
}

// emulatedValues are the keys the sandbox reads (config.go); every other key of the
// merged values is listed as not emulated. A key covers everything under it.
var emulatedValues = []string{
	"architecture", "replica.replicaCount", "auth.enabled", "commonConfiguration",
	"sentinel.enabled",
	"master.configuration", "master.disableCommands", "master.persistence.enabled",
	"master.livenessProbe.enabled", "master.livenessProbe.initialDelaySeconds", "master.livenessProbe.periodSeconds",
	"master.livenessProbe.timeoutSeconds", "master.livenessProbe.failureThreshold",
	"master.resources.limits.memory", "master.resources.limits.cpu",
	"replica.configuration", "replica.disableCommands", "replica.persistence.enabled",
	"replica.livenessProbe.enabled", "replica.livenessProbe.initialDelaySeconds", "replica.livenessProbe.periodSeconds",
	"replica.livenessProbe.timeoutSeconds", "replica.livenessProbe.failureThreshold",
	"replica.resources.limits.memory", "replica.resources.limits.cpu",
	"metrics.enabled", "metrics.extraEnvVars", "metrics.resources.limits.memory", "metrics.resources.limits.cpu",
	"metrics.serviceMonitor.enabled", "metrics.serviceMonitor.interval", "metrics.serviceMonitor.scrapeTimeout",
	"metrics.prometheusRule.enabled", "metrics.prometheusRule.rules",
	"lanService.enabled", "lanService.name", "lanService.loadBalancerIP", "lanService.sourceRanges", "lanService.port",
}

// NotEmulated lists the keys of the merged values the sandbox does not act on, each
// as the shortest key that holds nothing the sandbox reads (auth.existingSecret,
// networkPolicy, master.readinessProbe, ...), sorted.
func NotEmulated(v values.Tree) []string {
	var leaves []string
	var walk func(prefix string, node any)
	walk = func(prefix string, node any) {
		if m, ok := node.(map[string]any); ok && len(m) > 0 {
			for k, child := range m {
				walk(joinKey(prefix, k), child)
			}
			return
		}
		if t, ok := node.(values.Tree); ok && len(t) > 0 {
			for k, child := range t {
				walk(joinKey(prefix, k), child)
			}
			return
		}
		leaves = append(leaves, prefix)
	}
	walk("", map[string]any(v))
	seen := map[string]bool{}
	for _, leaf := range leaves {
		if covered(leaf) {
			continue
		}
		parts := strings.Split(leaf, ".")
		for i := 1; i <= len(parts); i++ {
			key := strings.Join(parts[:i], ".")
			if !holdsEmulated(key) {
				seen[key] = true
				break
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// covered says whether the sandbox reads key or a key above it.
func covered(key string) bool {
	for _, e := range emulatedValues {
		if key == e || strings.HasPrefix(key, e+".") {
			return true
		}
	}
	return false
}

// holdsEmulated says whether key is, or lies above, a key the sandbox reads.
func holdsEmulated(key string) bool {
	for _, e := range emulatedValues {
		if key == e || strings.HasPrefix(e, key+".") || strings.HasPrefix(key, e+".") {
			return true
		}
	}
	return false
}

// fsyncSamples is how many small appends dataFsyncFact times: enough for a p99, a
// fraction of a second on a disk that syncs in about 0.2 ms.
const fsyncSamples = 200

// dataFsyncFact times fsync of a small append on the data filesystem, the wait every
// write has under appendfsync always. SC-001 and SC-006 measure Redis on this disk, so
// the report states it beside them: a slow disk's tail shows up in their p95.
func dataFsyncFact(dir string) (string, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return "", fmt.Errorf("time fsync on %s: %w", dir, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	took := make([]time.Duration, 0, fsyncSamples)
	record := make([]byte, 128)
	for range fsyncSamples {
		if _, err := f.Write(record); err != nil {
			return "", fmt.Errorf("time fsync on %s: %w", dir, err)
		}
		start := time.Now()
		if err := f.Sync(); err != nil {
			return "", fmt.Errorf("time fsync on %s: %w", dir, err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	at := func(p int) float64 { return float64(took[(len(took)-1)*p/100]) / float64(time.Millisecond) }
	return fmt.Sprintf("fsync of a 128-byte append on the data filesystem (%d samples at sandbox up): p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms; under appendfsync always every write waits for one",
		fsyncSamples, at(50), at(95), at(99), at(100)), nil
}
