package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultStateDir is where `conform sandbox up` keeps its state unless told otherwise.
const DefaultStateDir = "/run/redis-shared-sandbox"

// registryDir holds one lock file per live sandbox, held by its supervisor, so `down`
// can tell a crashed run's leftovers from a sandbox that is still running.
const registryDir = "/run/redis-shared-sandbox-registry"

// StateSchemaVersion changes when the state file's meaning changes.
const StateSchemaVersion = 1

// Phases of a sandbox as the state file records them.
const (
	PhaseStarting = "starting"
	PhaseRunning  = "running"
	PhaseStopping = "stopping"
)

// State is the state file: everything a client needs to reach the sandbox.
type State struct {
	SchemaVersion int       `json:"schemaVersion"`
	ID            string    `json:"id"`
	Dir           string    `json:"stateDir"`
	Phase         string    `json:"phase"`
	CreatedAt     time.Time `json:"createdAt"`
	ValuesFiles   []string  `json:"valuesFiles"`
	// Namespaces are every network namespace of this sandbox.
	Namespaces []string `json:"namespaces"`
	// Vantages maps a vantage point (cluster, lan, outside) to the namespace to dial from.
	Vantages map[string]string `json:"vantages"`
	// Services maps the cluster DNS names to the addresses the sandbox serves them on.
	Services     map[string][]string `json:"services"`
	Instances    []Instance          `json:"instances"`
	LoadBalancer *LoadBalancer       `json:"loadBalancer,omitempty"`
	Prometheus   *PrometheusEndpoint `json:"prometheus,omitempty"`
	AuthEnabled  bool                `json:"authEnabled"`
	PasswordFile string              `json:"passwordFile"`
	Supervisor   Process             `json:"supervisor"`
	// OldRedis is beersystem's own Redis from before the cutover; nil in state files
	// written before it existed.
	OldRedis *OldRedis `json:"oldRedis,omitempty"`
	// App is the pod the stand-in beersystem runs in (StartApp).
	App *AppPod `json:"app,omitempty"`
	// Cgroups says how the containers' limits are enforced.
	Cgroups cgroups `json:"cgroups"`
	// Facts are what the report states about the sandbox: the Redis build, where the
	// data lives, the limits and every value it does not emulate (Fact* keys).
	Facts map[string]string `json:"facts,omitempty"`
}

// OldRedis is beersystem's dedicated Redis that the cutover moves away from (user
// story 4): one redis-server standing for Service beersystem-redis in namespace
// beersystem, with its own password, no persistence (its data dir is wiped on every
// start) and no exporter, reachable from the cluster vantage point like the master.
// It is not one of Instances: it is no part of the deployment under test.
type OldRedis struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Pod     string `json:"pod"`
	Netns   string `json:"netns"`
	Addr    string `json:"addr"`
	DataDir string `json:"dataDir"`
	// PasswordFile holds its own password (0600, never printed).
	PasswordFile string  `json:"passwordFile"`
	Redis        Process `json:"redis"`
}

// AppPod is the network namespace (pod) the stand-in beersystem runs in: its own IP
// on the cluster network, so the app's connections show in CLIENT LIST by pod IP.
type AppPod struct {
	Pod   string `json:"pod"`
	Netns string `json:"netns"`
	IP    string `json:"ip"`
	// Port is where the app is told to listen (BEERSYSTEM_LISTEN).
	Port int `json:"port"`
}

// Instance is one redis-server (and its exporter sidecar).
type Instance struct {
	Name         string   `json:"name"` // master, replica-0, ...
	Role         string   `json:"role"` // master or replica
	Pod          string   `json:"pod"`  // the chart's pod name it stands for
	Netns        string   `json:"netns"`
	Addr         string   `json:"addr"` // cluster address host:port
	ExporterAddr string   `json:"exporterAddr,omitempty"`
	Persistence  bool     `json:"persistence"`
	DataDir      string   `json:"dataDir"`
	Liveness     Liveness `json:"liveness"`
	Redis        Process  `json:"redis"`
	Exporter     *Process `json:"exporter,omitempty"`
	// Limits and ExporterLimits are the containers' resources.limits (cgroup).
	Limits         Resources `json:"limits"`
	ExporterLimits Resources `json:"exporterLimits"`
}

// Liveness is the emulated kubelet probe of an instance.
type Liveness struct {
	Enabled             bool `json:"enabled"`
	InitialDelaySeconds int  `json:"initialDelaySeconds"`
	PeriodSeconds       int  `json:"periodSeconds"`
	TimeoutSeconds      int  `json:"timeoutSeconds"`
	FailureThreshold    int  `json:"failureThreshold"`
}

// Process is what the supervisor knows of one process it runs.
type Process struct {
	Pid       int       `json:"pid"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	Restarts  int       `json:"restarts"`
	// Held is true while a Stop fault keeps the process down.
	Held     bool      `json:"held,omitempty"`
	LastExit *ExitInfo `json:"lastExit,omitempty"`
}

// ExitInfo says why a process last ended.
type ExitInfo struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // exited, liveness, held, stopping
	Status string    `json:"status"`
}

// LoadBalancer is the LAN Service as the sandbox serves it.
type LoadBalancer struct {
	Name         string   `json:"name"`
	Addr         string   `json:"addr"` // LB IP:port
	SourceRanges []string `json:"sourceRanges"`
	Netns        string   `json:"netns"` // the node that owns the LB IP
}

// PrometheusEndpoint says where Prometheus answers and how to get there.
type PrometheusEndpoint struct {
	URL            string `json:"url"`
	Vantage        string `json:"vantage"` // dial through this vantage point
	ScrapeInterval string `json:"scrapeInterval"`
	// Targets are the pods whose exporters the ServiceMonitor has Prometheus scrape.
	Targets []string `json:"targets"`
	Process Process  `json:"process"`
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// LoadState reads the state file in dir.
func LoadState(dir string) (*State, error) {
	raw, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, fmt.Errorf("read sandbox state: %w", err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("parse sandbox state %s: %w", statePath(dir), err)
	}
	if st.SchemaVersion != StateSchemaVersion {
		return nil, fmt.Errorf("sandbox state %s: schema version %d, this build reads %d", statePath(dir), st.SchemaVersion, StateSchemaVersion)
	}
	return &st, nil
}

// save writes the state file atomically so readers never see half of it.
func (s *State) save() error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sandbox state: %w", err)
	}
	tmp := statePath(s.Dir) + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	if err := os.Rename(tmp, statePath(s.Dir)); err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	return nil
}

// Instance returns the named instance (master, replica-0, ...).
func (s *State) Instance(name string) (Instance, error) {
	for _, inst := range s.Instances {
		if inst.Name == name {
			return inst, nil
		}
	}
	return Instance{}, fmt.Errorf("sandbox %s has no instance %q", s.ID, name)
}

// Replicas returns the replica instances in order.
func (s *State) Replicas() []Instance {
	var out []Instance
	for _, inst := range s.Instances {
		if inst.Role == "replica" {
			out = append(out, inst)
		}
	}
	return out
}

// Password reads the generated Redis password. Callers must never print it.
func (s *State) Password() (string, error) {
	if !s.AuthEnabled {
		return "", nil
	}
	raw, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("read sandbox password: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// OldRedisPassword reads the old beersystem Redis's own password. Callers must never
// print it.
func (s *State) OldRedisPassword() (string, error) {
	if s.OldRedis == nil {
		return "", fmt.Errorf("sandbox %s has no old beersystem Redis (state written by an older build)", s.ID)
	}
	raw, err := os.ReadFile(s.OldRedis.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("read the old beersystem Redis password: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// Refresh re-reads the state file (pids change when the supervisor restarts something).
func (s *State) Refresh() (*State, error) { return LoadState(s.Dir) }

func registryPath(id string) string { return filepath.Join(registryDir, id+".lock") }

// stateDirFiles are the entries the sandbox makes in its state dir; down removes
// exactly these, then the dir itself if nothing else is in it.
func stateDirFiles() []string {
	return []string{"state.json", "state.json.tmp", "redis-password", "redis-password.tmp", staleExporterPasswordFile, "instances", "prometheus", "logs", "hold"}
}

func removeStateDir(dir string) error {
	var errs []error
	for _, name := range stateDirFiles() {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
