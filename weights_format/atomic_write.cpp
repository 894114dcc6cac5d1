// write_file_atomic: readers of `path` see the old file or the complete new one, never a partial
// write: write a temp file in the same directory (same filesystem, so rename is atomic), fsync it,
// rename it over `path`, fsync the directory. Every failure removes the temp file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "weights_format/error.h"
#include "weights_format/trw.h"

namespace triage::trw {
namespace {

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w == 0) errno = EIO;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
    return true;
  char ra[PATH_MAX], rb[PATH_MAX];
  return ::realpath(a.c_str(), ra) != nullptr && ::realpath(b.c_str(), rb) != nullptr && std::strcmp(ra, rb) == 0;
}

bool write_file_atomic(const std::string& path, std::span<const uint8_t> bytes, Error& err) {
  err = Error{};
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return fail_text(err, Errc::Io, 0, "cannot write '" + path + "': it names a directory");
  std::string tmp = dir + "/." + base + ".XXXXXX.tmp";
  const int fd = ::mkstemps(tmp.data(), 4);
  if (fd < 0) return fail_text(err, Errc::Io, 0, "cannot create a temp file in '" + dir + "': " + std::strerror(errno));
  // mkstemps creates 0600; model files are meant to be read by other users of the tool.
  const char* step = nullptr;
  int e = 0;
  if (::fchmod(fd, 0644) != 0) step = "chmod";
  else if (!write_all(fd, bytes.data(), bytes.size())) step = "write";
  else if (::fsync(fd) != 0) step = "fsync";
  if (step != nullptr) e = errno;
  if (::close(fd) != 0 && step == nullptr) step = "close", e = errno;
  if (step == nullptr && ::rename(tmp.c_str(), path.c_str()) != 0) step = "rename", e = errno;
  if (step != nullptr) {
    ::unlink(tmp.c_str());
    return fail_text(err, Errc::Io, 0, "cannot write '" + path + "' (" + step + "): " + std::strerror(e));
  }
  // Make the rename itself durable. Some filesystems refuse fsync on a directory: the file is already
  // complete and in place, so that is not an error.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace triage::trw
