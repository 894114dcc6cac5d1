// Writing files: atomic replacement (no temp file left, readers of the old file keep it), refusal to
// overwrite the input (same path, symlink, hard link, other spellings), clean failure when the
// directory cannot be written.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "errc_printer.h"
#include "weights_format/trw.h"

namespace triage::trw {
namespace {

namespace fs = std::filesystem;

class WriterIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("trw_io_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    ::chmod(dir_.c_str(), 0755);
    fs::remove_all(dir_);
  }
  static Writer small_writer(int64_t v) {
    Writer w;
    w.set_i64("value", v);
    Error err;
    const std::vector<uint8_t> payload(4 * 6, uint8_t(v));
    const uint64_t dims[] = {2, 3};
    EXPECT_TRUE(w.add_tensor("t", DType::F32, dims, payload, err)) << err.message;
    return w;
  }
  static int64_t read_value(const std::string& path) {
    Buffer b;
    Error err;
    File f;
    int64_t v = -1;
    if (b.read_file(path, err) && f.parse(b.span(), err)) f.get_i64("value", v, err);
    return v;
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    return out;
  }
  bool temp_left() const {
    for (const auto& name : entries())
      if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) return true;
    return false;
  }
  fs::path dir_;
};

TEST_F(WriterIo, AtomicWriteLeavesNoTempAndReplaces) {
  const std::string path = (dir_ / "model.trw").string();
  Error err;
  ASSERT_TRUE(small_writer(1).write_file(path, err)) << err.message;
  EXPECT_EQ(entries(), std::vector<std::string>{"model.trw"});
  EXPECT_EQ(read_value(path), 1);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // A reader that opened the old file keeps reading the old file: the new one replaced it by rename.
  std::ifstream old(path, std::ios::binary);
  ASSERT_TRUE(small_writer(2).write_file(path, err)) << err.message;
  EXPECT_EQ(entries(), std::vector<std::string>{"model.trw"});
  EXPECT_EQ(read_value(path), 2);
  std::vector<char> old_bytes((std::istreambuf_iterator<char>(old)), std::istreambuf_iterator<char>());
  Buffer ob;
  ASSERT_TRUE(ob.assign({reinterpret_cast<const uint8_t*>(old_bytes.data()), old_bytes.size()}, err));
  File of;
  ASSERT_TRUE(of.parse(ob.span(), err)) << err.message;
  int64_t v = 0;
  ASSERT_TRUE(of.get_i64("value", v, err));
  EXPECT_EQ(v, 1);
}

TEST_F(WriterIo, RelativePathAndEmptyBytes) {
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  Error err;
  const bool ok = write_file_atomic("plain.bin", {}, err);
  fs::current_path(cwd);
  ASSERT_TRUE(ok) << err.message;
  EXPECT_EQ(fs::file_size(dir_ / "plain.bin"), 0u);
  EXPECT_FALSE(temp_left());
}

TEST_F(WriterIo, RefusesToOverwriteItsInput) {
  const std::string in = (dir_ / "in.trw").string();
  Error err;
  ASSERT_TRUE(small_writer(7).write_file(in, err));
  fs::create_symlink(in, dir_ / "link.trw");
  fs::create_hard_link(in, dir_ / "hard.trw");
  fs::create_directories(dir_ / "sub");
  const std::vector<std::string> same = {in, (dir_ / "link.trw").string(), (dir_ / "hard.trw").string(),
                                         (dir_ / "." / "in.trw").string(), (dir_ / "sub" / ".." / "in.trw").string()};
  for (const std::string& out : same) {
    EXPECT_TRUE(same_file(out, in)) << out;
    EXPECT_FALSE(small_writer(8).write_file(out, err, in)) << out;
    EXPECT_EQ(err.code, Errc::Io);
    EXPECT_NE(err.message.find("input"), std::string::npos) << err.message;
    EXPECT_EQ(read_value(in), 7) << "input untouched";
  }
  EXPECT_FALSE(temp_left());
  // A different file is fine, and so is an output that does not exist yet.
  const std::string other = (dir_ / "other.trw").string();
  EXPECT_FALSE(same_file(other, in));
  EXPECT_TRUE(small_writer(9).write_file(other, err, in)) << err.message;
  EXPECT_EQ(read_value(other), 9);
  EXPECT_EQ(read_value(in), 7);
}

TEST_F(WriterIo, FailsCleanlyOnAnUnwritableDirectory) {
  Error err;
  // No such directory.
  EXPECT_FALSE(small_writer(1).write_file((dir_ / "missing" / "m.trw").string(), err));
  EXPECT_EQ(err.code, Errc::Io);
  EXPECT_NE(err.message.find("missing"), std::string::npos) << err.message;
  // The "directory" is a regular file.
  std::ofstream(dir_ / "afile") << "x";
  EXPECT_FALSE(small_writer(1).write_file((dir_ / "afile" / "m.trw").string(), err));
  EXPECT_EQ(err.code, Errc::Io);
  // A trailing slash names a directory, not a file.
  EXPECT_FALSE(small_writer(1).write_file(dir_.string() + "/", err));
  EXPECT_EQ(err.code, Errc::Io);
  // The temp file is created, then the rename fails (the target is a non-empty directory): the temp
  // file must be gone.
  fs::create_directories(dir_ / "target.trw" / "x");
  EXPECT_FALSE(small_writer(1).write_file((dir_ / "target.trw").string(), err));
  EXPECT_EQ(err.code, Errc::Io);
  EXPECT_NE(err.message.find("rename"), std::string::npos) << err.message;
  EXPECT_FALSE(temp_left());
  // Permission bits only stop non-root users.
  if (::geteuid() != 0) {
    fs::create_directories(dir_ / "ro");
    ::chmod((dir_ / "ro").c_str(), 0555);
    EXPECT_FALSE(small_writer(1).write_file((dir_ / "ro" / "m.trw").string(), err));
    EXPECT_EQ(err.code, Errc::Io);
    ::chmod((dir_ / "ro").c_str(), 0755);
  }
  // A read-only filesystem stops root too.
  if (fs::is_directory("/proc/self")) {
    EXPECT_FALSE(write_file_atomic("/proc/self/m.trw", std::vector<uint8_t>(10), err));
    EXPECT_EQ(err.code, Errc::Io);
  }
  EXPECT_FALSE(temp_left());
}

TEST_F(WriterIo, BufferReadFile) {
  Buffer b;
  Error err;
  EXPECT_FALSE(b.read_file((dir_ / "nope.trw").string(), err));
  EXPECT_EQ(err.code, Errc::Io);
  EXPECT_NE(err.message.find("nope.trw"), std::string::npos);
  EXPECT_FALSE(b.read_file(dir_.string(), err));  // a directory
  EXPECT_EQ(err.code, Errc::Io);
  EXPECT_FALSE(b.read_file("/dev/null", err));  // not a regular file
  EXPECT_EQ(err.code, Errc::Io);
  std::ofstream(dir_ / "empty");
  ASSERT_TRUE(b.read_file((dir_ / "empty").string(), err)) << err.message;
  EXPECT_EQ(b.span().size(), 0u);
  File f;
  EXPECT_FALSE(f.parse(b.span(), err));
  EXPECT_EQ(err.code, Errc::Truncated);
}

TEST(Buffer, AssignIsAlignedAndMoves) {
  std::vector<uint8_t> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(i * 7);
  Buffer a;
  Error err;
  for (size_t off : {0, 1, 3}) {
    ASSERT_TRUE(a.assign({v.data() + off, v.size() - off}, err));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.span().data()) % 64, 0u);
    EXPECT_TRUE(std::equal(a.span().begin(), a.span().end(), v.begin() + off));
  }
  Buffer b(std::move(a));
  EXPECT_EQ(a.span().size(), 0u);
  EXPECT_EQ(b.span().size(), 997u);
  Buffer c;
  c = std::move(b);
  EXPECT_EQ(c.span().size(), 997u);
  EXPECT_EQ(c.span()[0], uint8_t(21));
}

}  // namespace
}  // namespace triage::trw
