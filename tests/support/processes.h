#pragma once
// Real processes started at the same moment, for tests of what several moat processes starting
// together (a cluster's first start on one shared folder) do to the files they share.

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <vector>

namespace moat::test_support {

// Forks `n` children that wait on one pipe until the parent closes it, so they start together;
// child i runs `child(i)` and _exits with its value (it never returns into the test framework).
// Returns how many children failed to start or did not exit 0.
inline int run_together(int n, const std::function<int(int)>& child) {
    int go[2];
    if (::pipe(go) != 0) return n;
    std::vector<pid_t> kids;
    for (int i = 0; i < n; ++i) {
        pid_t pid = ::fork();
        if (pid < 0) break;
        if (pid == 0) {
            ::close(go[1]);
            char c;
            (void)!::read(go[0], &c, 1);  // returns 0 when the parent closes its end
            ::_exit(child(i));
        }
        kids.push_back(pid);
    }
    ::close(go[0]);
    ::close(go[1]);
    int failed = n - static_cast<int>(kids.size());
    for (pid_t pid : kids) {
        int status = 0;
        if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ++failed;
    }
    return failed;
}

}  // namespace moat::test_support
