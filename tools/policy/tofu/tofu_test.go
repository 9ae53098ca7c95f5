package tofu_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/policy/tofu"
)

func parseTofu(t *testing.T, files map[string]string) (map[string]any, error) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "tofu")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(content), 0o644))
	}
	return tofu.ParseDir(dir)
}

func resource(t *testing.T, doc map[string]any, typ, name string) map[string]any {
	t.Helper()
	for _, r := range doc["resources"].([]any) {
		m := r.(map[string]any)
		if m["type"] == typ && m["name"] == name {
			return m
		}
	}
	t.Fatalf("resource %s.%s not found", typ, name)
	return nil
}

func TestTofuLiteralsExpressionsAndInstances(t *testing.T) {
	doc, err := parseTofu(t, map[string]string{
		"tofu/main.tf": `
variable "namespaces" {
  type    = list(string)
  default = ["redis", "beersystem"]
}
variable "key" {
  type    = string
  default = null
}
locals {
  name = "redis-shared"
  full = "${local.name}-auth"
}
resource "kubernetes_namespace_v1" "redis" {
  metadata { name = "redis" }
}
resource "kubernetes_secret_v1" "auth" {
  for_each = toset(var.namespaces)
  metadata {
    name      = local.full
    namespace = each.key
  }
  data = { (coalesce(var.key, "redis-password")) = random_password.p.result }
}
resource "helm_release" "r" {
  count     = 2
  name      = "r${count.index}"
  namespace = kubernetes_namespace_v1.redis.metadata[0].name
}
resource "kubernetes_config_map_v1" "d" {
  data = { "d.json" = file("${path.module}/../dash.json") }
}
resource "kubernetes_config_map_v1" "escape" {
  data = { "x" = file("${path.module}/../../outside") }
}
output "dns" { value = "redis-shared-master.redis.svc.cluster.local" }
`,
		"dash.json": `{"refresh":"10s"}`,
	})
	require.NoError(t, err)

	ns := resource(t, doc, "kubernetes_namespace_v1", "redis")
	meta := ns["instances"].([]any)[0].(map[string]any)["blocks"].(map[string]any)["metadata"].([]any)[0].(map[string]any)
	assert.Equal(t, "redis", meta["attributes"].(map[string]any)["name"], "a literal stays a literal")

	secret := resource(t, doc, "kubernetes_secret_v1", "auth")
	instances := secret["instances"].([]any)
	require.Len(t, instances, 2)
	first := instances[0].(map[string]any)
	assert.Equal(t, "beersystem", first["key"])
	secretMeta := first["blocks"].(map[string]any)["metadata"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
	assert.Equal(t, map[string]any{tofu.ExprKey: "each.key", "refs": []any{"each.key"}, "value": "beersystem"}, secretMeta["namespace"])
	assert.Equal(t, "redis-shared-auth", secretMeta["name"].(map[string]any)["value"])
	data := first["attributes"].(map[string]any)["data"].(map[string]any)
	password := data["redis-password"].(map[string]any)
	assert.Equal(t, "random_password.p.result", password[tofu.ExprKey])
	assert.NotContains(t, password, "value", "an unknown resource attribute does not resolve")

	releases := resource(t, doc, "helm_release", "r")["instances"].([]any)
	require.Len(t, releases, 2)
	attrs := releases[1].(map[string]any)["attributes"].(map[string]any)
	assert.Equal(t, "r1", attrs["name"].(map[string]any)["value"])
	assert.Equal(t, "redis", attrs["namespace"].(map[string]any)["value"], "resource references resolve in pass 2")

	dash := resource(t, doc, "kubernetes_config_map_v1", "d")["instances"].([]any)[0].(map[string]any)
	// A constructor that resolves whole is one expression with its value.
	assert.Equal(t, map[string]any{"d.json": `{"refresh":"10s"}`}, dash["attributes"].(map[string]any)["data"].(map[string]any)["value"])
	escape := resource(t, doc, "kubernetes_config_map_v1", "escape")["instances"].([]any)[0].(map[string]any)
	assert.NotContains(t, escape["attributes"].(map[string]any)["data"].(map[string]any)["x"], "value", "file() outside the project is refused")

	assert.Equal(t, "redis-shared-master.redis.svc.cluster.local", doc["outputs"].(map[string]any)["dns"].(map[string]any)["attributes"].(map[string]any)["value"])
	variables := doc["variables"].(map[string]any)
	assert.Equal(t, "list(string)", variables["namespaces"].(map[string]any)["type"])
}

func TestTofuUnknownForEachIsMarked(t *testing.T) {
	doc, err := parseTofu(t, map[string]string{"tofu/main.tf": `
resource "kubernetes_secret_v1" "s" {
  for_each = data.x.y.names
}
`})
	require.NoError(t, err)
	s := resource(t, doc, "kubernetes_secret_v1", "s")
	assert.Equal(t, true, s["instances_unknown"])
	assert.Empty(t, s["instances"])
}

func TestTofuHugeCountIsRefused(t *testing.T) {
	_, err := parseTofu(t, map[string]string{"tofu/main.tf": `resource "a" "b" { count = 100000 }`})
	require.ErrorContains(t, err, "more than")
}

// Parse reads outside input: it must never panic or hang, whatever the HCL.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`resource "a" "b" { for_each = toset(["x"]) }`))
	f.Add([]byte(`locals { a = local.b
 b = local.a }`))
	f.Add([]byte(`variable "v" { type = list(string)
 default = ["a"] }
resource "k" "s" { count = length(var.v)
 data = { (var.v[0]) = "x" } }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := tofu.Parse(t.TempDir(), map[string][]byte{"main.tf": src})
		if err == nil && doc == nil {
			t.Fatal("no document and no error")
		}
	})
}
