{
  "targets": [
    {
      "target_name": "fedlab_ristretto",
      "sources": ["ristretto.c", "noise.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-ffp-contract=off"],
      "xcode_settings": { "OTHER_CFLAGS": ["-ffp-contract=off"] },
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
