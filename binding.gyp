{
  "targets": [
    {
      "target_name": "sockdiag",
      "sources": [
        "native/addon.cc",
        "native/batch_js.cc",
        "native/columns.cc",
        "native/dump_js.cc",
        "native/error_js.cc",
        "native/namespace_js.cc",
        "native/netlink.cc",
        "native/netns.cc",
        "native/parser.cc",
        "native/receiver.cc",
        "native/request.cc",
        "native/session.cc",
        "native/shared_socket.cc",
        "native/subscriber.cc",
        "native/subscriber_js.cc"
      ],
      # Exception policy from node-addon-api's own target: C++ exceptions on,
      # so a failed Node-API call (say, an allocation) surfaces as a JavaScript
      # exception instead of a silently ignored status. The pure parser and the
      # socket code never throw; only the Node-API glue does.
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-pthread"],
      # Full RELRO: the GOT is read-only once the addon is loaded.
      "ldflags": ["-pthread", "-Wl,-z,relro", "-Wl,-z,now"],
      # A worker thread's environment can be torn down while JavaScript
      # calls into the addon or a fill settles: Node-API calls then fail and
      # their error cannot be thrown into the stopped JavaScript. Without
      # this node-addon-api rethrows it as C++ and the process aborts
      # (test/helpers/addon-exercise.js terminates a worker mid-dump).
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "configurations": {
        "Release": {
          "defines": ["NDEBUG"],
          "cflags_cc": ["-O2"]
        },
        "Debug": {
          "defines": ["DEBUG", "_GLIBCXX_ASSERTIONS"],
          "cflags_cc": ["-O0", "-g"]
        }
      }
    }
  ]
}
