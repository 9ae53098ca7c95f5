package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Config is what the app reads from its env and flags.
type Config struct {
	Listen        string
	RedisHost     string
	RedisPort     int
	RedisPassword string
	// ClientName is set with CLIENT SETNAME on every connection, so the cutover can
	// tell the app's connections apart in CLIENT LIST.
	ClientName string
	// KeyPrefix starts every key the app writes.
	KeyPrefix  string
	SessionTTL time.Duration
	CacheTTL   time.Duration
}

// RedisAddr is host:port.
func (c Config) RedisAddr() string {
	return net.JoinHostPort(c.RedisHost, strconv.Itoa(c.RedisPort))
}

// redisTimeout bounds every call the app makes to Redis.
const redisTimeout = 2 * time.Second

// App serves beersystem's HTTP API from Redis.
type App struct {
	cfg   Config
	redis *redis.Client
}

// NewApp makes the app and its Redis client; nothing connects before the first request.
func NewApp(cfg Config) *App {
	client := redis.NewClient(&redis.Options{
		Addr:            cfg.RedisAddr(),
		Password:        cfg.RedisPassword,
		ClientName:      cfg.ClientName,
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     redisTimeout,
		ReadTimeout:     redisTimeout,
		WriteTimeout:    redisTimeout,
		PoolSize:        4,
		PoolTimeout:     redisTimeout,
		MaxRetries:      1,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	return &App{cfg: cfg, redis: client}
}

// Close closes the Redis connections.
func (a *App) Close() error { return a.redis.Close() }

// Handler routes the API:
//
//	POST /login           {"user": "..."} -> {"session": "..."} (a session key with SessionTTL)
//	GET  /session         header X-Session -> 200 {"user": ...} or 401 when unknown
//	GET  /beers/{id}      cache-aside over CacheTTL -> {"id", "name", "cache": "hit"|"miss"}
//	GET  /healthz         200 when Redis answers PING, else 503 (the readiness probe)
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /session", a.session)
	mux.HandleFunc("GET /beers/{id}", a.beer)
	mux.HandleFunc("GET /healthz", a.healthz)
	return mux
}

func (a *App) sessionKey(token string) string { return a.cfg.KeyPrefix + "session:" + token }
func (a *App) beerKey(id int) string          { return a.cfg.KeyPrefix + "beer:" + strconv.Itoa(id) }

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User string `json:"user"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.User == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want a JSON body {"user": "..."}`})
		return
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "session token: " + err.Error()})
		return
	}
	token := hex.EncodeToString(raw)
	ctx, cancel := context.WithTimeout(r.Context(), redisTimeout)
	defer cancel()
	if err := a.redis.Set(ctx, a.sessionKey(token), req.User, a.cfg.SessionTTL).Err(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store session: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"session": token})
}

func (a *App) session(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("X-Session")
	if token == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no X-Session header"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), redisTimeout)
	defer cancel()
	user, err := a.redis.Get(ctx, a.sessionKey(token)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unknown or expired session: log in again"})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "read session: " + err.Error()})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"user": user})
	}
}

// Beer is what GET /beers/{id} returns.
type Beer struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Cache string `json:"cache"` // hit or miss
}

func (a *App) beer(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "beer id: want a whole number"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), redisTimeout)
	defer cancel()
	key := a.beerKey(id)
	name, err := a.redis.Get(ctx, key).Result()
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, Beer{ID: id, Name: name, Cache: "hit"})
		return
	case !errors.Is(err, redis.Nil):
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "read cache: " + err.Error()})
		return
	}
	// The "database query" the cache saves: deterministic, so a hit and a miss agree.
	name = fmt.Sprintf("beer #%d", id)
	if err := a.redis.Set(ctx, key, name, a.cfg.CacheTTL).Err(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "fill cache: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, Beer{ID: id, Name: name, Cache: "miss"})
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), redisTimeout)
	defer cancel()
	if err := a.redis.Ping(ctx).Err(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": "PING " + a.cfg.RedisAddr() + ": " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
