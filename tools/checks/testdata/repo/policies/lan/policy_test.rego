package redis.lan_test

test_nothing if true
