{
  "targets": [
    {
      "target_name": "fedlab_ristretto",
      "sources": ["ristretto.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
