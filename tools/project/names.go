package project

// The deployment's names, fixed by the spec (FR-001, FR-017a) and tofu/. Every
// package names them through these.
const (
	// Release is the Helm release, and so the chart's fullname and its rule group.
	Release = "redis-shared"
	// Namespace is the release's namespace.
	Namespace = "redis"
	// AuthSecret holds the password under AuthPasswordKey, in Namespace and (a
	// copy tofu makes) in App's namespace.
	AuthSecret      = "redis-shared-auth"
	AuthPasswordKey = "redis-password"
	// App is the application on the shared Redis: its namespace and Deployment
	// (the sandbox's pod namespace too).
	App = "beersystem"
	// OldRedis is App's own Redis that the cutover replaces: its Service in App's
	// namespace (the sandbox's pod namespace too).
	OldRedis = "beersystem-redis"
	// The chart's Services: LANService is the LoadBalancer of helm-values'
	// lanService, MetricsService has one endpoint per Ready Redis pod.
	MasterService   = Release + "-master"
	ReplicasService = Release + "-replicas"
	LANService      = Release + "-lan"
	MetricsService  = Release + "-metrics"
	RedisPort       = 6379
	// ClusterDomain is the DNS suffix of the spec's names.
	ClusterDomain = "cluster.local"
	// MasterDNSName is the in-cluster name the spec gives the master Service
	// (redis-shared-master.redis.svc.cluster.local), ReplicasDNSName the replicas'.
	MasterDNSName   = MasterService + "." + Namespace + ".svc." + ClusterDomain
	ReplicasDNSName = ReplicasService + "." + Namespace + ".svc." + ClusterDomain
)
