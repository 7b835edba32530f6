/*
 * boo: convolution subset of MIOpen's public C API.
 *
 * This header is written for the boo project.  It declares the handle,
 * tensor-descriptor and convolution entry points of MIOpen 3.x with the
 * same names, prototypes, enum values and struct layouts, so that code
 * built against it is ABI compatible with the vendor library
 * (libMIOpen.so.1).  It is implemented twice in this repository:
 *
 *   - native/reference/miopen_reference.c : host-memory reference library
 *   - the cffi LD_PRELOAD shim (boo_shim)  : forwards to the boo daemon
 *
 * Everything between the BOO_CDEF_BEGIN / BOO_CDEF_END marker lines is
 * plain C declarations only (no preprocessor directives, no macros), so it
 * can be handed verbatim to cffi's FFI.cdef().  Do not add macros there.
 *
 * Notes for implementers:
 *   - miopenAcceleratorQueue_t is hipStream_t, i.e. an opaque pointer.
 *   - alpha/beta arguments point to host scalars: float for half, bfloat16
 *     and float tensors, double for double tensors.
 *   - Tensor lengths are always given in logical N, C, (D,) H, W order;
 *     the memory layout is expressed through strides (or through the
 *     miopenTensorLayout_t of miopenSetNdTensorDescriptorWithLayout).
 */
#ifndef BOO_MIOPEN_MIOPEN_H_
#define BOO_MIOPEN_MIOPEN_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define MIOPEN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define MIOPEN_EXPORT __attribute__((visibility("default")))
#else
#define MIOPEN_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The declarations below carry no attribute so that the cdef region stays
 * macro free; the pragma gives them default visibility, and the reference
 * implementation additionally marks each definition with MIOPEN_EXPORT. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

/* BOO_CDEF_BEGIN */

/* ---- opaque objects -------------------------------------------------- */

typedef void* miopenAcceleratorQueue_t;

/* MIOpen declares each object as `struct name {}; typedef struct name* name_t;`
 * (MIOPEN_DECLARE_OBJECT); the tag names are the same here, so sources that name
 * `struct miopenHandle` compile.  The structs stay incomplete: only pointers cross the API. */
typedef struct miopenHandle* miopenHandle_t;
typedef struct miopenTensorDescriptor* miopenTensorDescriptor_t;
typedef struct miopenConvolutionDescriptor* miopenConvolutionDescriptor_t;

/* ---- enums ----------------------------------------------------------- */

typedef enum
{
    miopenStatusSuccess              = 0,
    miopenStatusNotInitialized       = 1,
    miopenStatusInvalidValue         = 2,
    miopenStatusBadParm              = 3,
    miopenStatusAllocFailed          = 4,
    miopenStatusInternalError        = 5,
    miopenStatusNotImplemented       = 6,
    miopenStatusUnknownError         = 7,
    miopenStatusUnsupportedOp        = 8,
    miopenStatusGpuOperationsSkipped = 9,
    miopenStatusVersionMismatch      = 10
} miopenStatus_t;

typedef enum
{
    miopenHalf     = 0,
    miopenFloat    = 1,
    miopenInt32    = 2,
    miopenInt8     = 3,
    miopenBFloat16 = 5,
    miopenDouble   = 6,
    miopenFloat8_fnuz  = 7,
    miopenBFloat8_fnuz = 8,
    miopenInt64    = 9
} miopenDataType_t;

typedef enum
{
    miopenTensorNCHW   = 0,
    miopenTensorNHWC   = 1,
    miopenTensorCHWN   = 2,
    miopenTensorNCHWc4 = 3,
    miopenTensorNCHWc8 = 4,
    miopenTensorCHWNc4 = 5,
    miopenTensorCHWNc8 = 6,
    miopenTensorNCDHW  = 7,
    miopenTensorNDHWC  = 8
} miopenTensorLayout_t;

typedef enum
{
    miopenConvolution = 0,
    miopenTranspose   = 1,
    miopenGroupConv   = 2,
    miopenDepthwise   = 3
} miopenConvolutionMode_t;

typedef enum
{
    MIOPEN_CONVOLUTION_ATTRIB_FP16_ALT_IMPL     = 0,
    MIOPEN_CONVOLUTION_ATTRIB_DETERMINISTIC     = 1,
    MIOPEN_CONVOLUTION_ATTRIB_FP8_ROUNDING_MODE = 2,
    MIOPEN_CONVOLUTION_ATTRIB_MATH_TYPE         = 3
} miopenConvolutionAttrib_t;

typedef enum
{
    miopenConvolutionFindModeNormal          = 1,
    miopenConvolutionFindModeFast            = 2,
    miopenConvolutionFindModeHybrid          = 3,
    miopenConvolutionFindModeDynamicHybrid   = 5,
    miopenConvolutionFindModeTrustVerify     = 6,
    miopenConvolutionFindModeTrustVerifyFull = 7,
    miopenConvolutionFindModeDefault         = 5
} miopenConvolutionFindMode_t;

typedef enum
{
    miopenMathDefault  = 0,
    miopenMathPedantic = 1
} miopenMathType_t;

typedef enum
{
    miopenF8RoundingModeStandard   = 0,
    miopenF8RoundingModeStochastic = 1
} miopenF8RoundingMode_t;

typedef enum
{
    miopenPaddingDefault = 0,
    miopenPaddingSame    = 1,
    miopenPaddingValid   = 2
} miopenPaddingMode_t;

typedef enum
{
    miopenConvolutionFwdAlgoGEMM         = 0,
    miopenConvolutionFwdAlgoDirect       = 1,
    miopenConvolutionFwdAlgoFFT          = 2,
    miopenConvolutionFwdAlgoWinograd     = 3,
    miopenConvolutionFwdAlgoImplicitGEMM = 5
} miopenConvFwdAlgorithm_t;

typedef enum
{
    miopenConvolutionBwdWeightsAlgoGEMM         = 0,
    miopenConvolutionBwdWeightsAlgoDirect       = 1,
    miopenConvolutionBwdWeightsAlgoWinograd     = 3,
    miopenConvolutionBwdWeightsAlgoImplicitGEMM = 5
} miopenConvBwdWeightsAlgorithm_t;

typedef enum
{
    miopenConvolutionBwdDataAlgoGEMM         = 0,
    miopenConvolutionBwdDataAlgoDirect       = 1,
    miopenConvolutionBwdDataAlgoFFT          = 2,
    miopenConvolutionBwdDataAlgoWinograd     = 3,
    miopenTransposeBwdDataAlgoGEMM           = 4,
    miopenConvolutionBwdDataAlgoImplicitGEMM = 5
} miopenConvBwdDataAlgorithm_t;

typedef enum
{
    miopenConvolutionAlgoGEMM         = 0,
    miopenConvolutionAlgoDirect       = 1,
    miopenConvolutionAlgoFFT          = 2,
    miopenConvolutionAlgoWinograd     = 3,
    miopenConvolutionAlgoImplicitGEMM = 5
} miopenConvAlgorithm_t;

/* ---- result structs -------------------------------------------------- */

/* Find-mode result: algorithm (one of three enums sharing storage),
 * measured time in ms and required workspace in bytes. */
typedef struct
{
    union
    {
        miopenConvFwdAlgorithm_t fwd_algo;
        miopenConvBwdWeightsAlgorithm_t bwd_weights_algo;
        miopenConvBwdDataAlgorithm_t bwd_data_algo;
    };
    float time;
    size_t memory;
} miopenConvAlgoPerf_t;

/* Immediate-mode solution description. */
typedef struct
{
    float time;
    size_t workspace_size;
    uint64_t solution_id;
    miopenConvAlgorithm_t algorithm;
} miopenConvSolution_t;

/* ---- handle ---------------------------------------------------------- */

const char* miopenGetErrorString(miopenStatus_t error);
miopenStatus_t miopenGetVersion(size_t* major, size_t* minor, size_t* patch);
miopenStatus_t miopenCreate(miopenHandle_t* handle);
miopenStatus_t miopenCreateWithStream(miopenHandle_t* handle, miopenAcceleratorQueue_t stream);
miopenStatus_t miopenDestroy(miopenHandle_t handle);
miopenStatus_t miopenSetStream(miopenHandle_t handle, miopenAcceleratorQueue_t streamID);
miopenStatus_t miopenGetStream(miopenHandle_t handle, miopenAcceleratorQueue_t* streamID);
miopenStatus_t miopenGetKernelTime(miopenHandle_t handle, float* time);
miopenStatus_t miopenEnableProfiling(miopenHandle_t handle, bool enable);

/* ---- tensor descriptors ---------------------------------------------- */

miopenStatus_t miopenCreateTensorDescriptor(miopenTensorDescriptor_t* tensorDesc);
miopenStatus_t miopenSet4dTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                           miopenDataType_t dataType,
                                           int n,
                                           int c,
                                           int h,
                                           int w);
miopenStatus_t miopenSetNdTensorDescriptorWithLayout(miopenTensorDescriptor_t tensorDesc,
                                                     miopenDataType_t dataType,
                                                     miopenTensorLayout_t tensorLayout,
                                                     const int* lens,
                                                     int num_lens);
miopenStatus_t miopenSet4dTensorDescriptorEx(miopenTensorDescriptor_t tensorDesc,
                                             miopenDataType_t dataType,
                                             int n,
                                             int c,
                                             int h,
                                             int w,
                                             int nStride,
                                             int cStride,
                                             int hStride,
                                             int wStride);
miopenStatus_t miopenGet4dTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                           miopenDataType_t* dataType,
                                           int* n,
                                           int* c,
                                           int* h,
                                           int* w,
                                           int* nStride,
                                           int* cStride,
                                           int* hStride,
                                           int* wStride);
miopenStatus_t miopenSetTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                         miopenDataType_t dataType,
                                         int nbDims,
                                         const int* dimsA,
                                         const int* stridesA);
miopenStatus_t miopenSetTensorDescriptorV2(miopenTensorDescriptor_t tensorDesc,
                                           miopenDataType_t dataType,
                                           int nbDims,
                                           const size_t* dimsA,
                                           const size_t* stridesA);
miopenStatus_t miopenGetTensorDescriptorSize(miopenTensorDescriptor_t tensorDesc, int* size);
miopenStatus_t miopenGetTensorDescriptor(miopenTensorDescriptor_t tensorDesc,
                                         miopenDataType_t* dataType,
                                         int* dimsA,
                                         int* stridesA);
miopenStatus_t miopenDestroyTensorDescriptor(miopenTensorDescriptor_t tensorDesc);
miopenStatus_t miopenGetTensorNumBytes(miopenTensorDescriptor_t tensorDesc, size_t* numBytes);

/* ---- convolution descriptors ----------------------------------------- */

miopenStatus_t miopenCreateConvolutionDescriptor(miopenConvolutionDescriptor_t* convDesc);
miopenStatus_t miopenInitConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc,
                                               miopenConvolutionMode_t c_mode,
                                               int pad_h,
                                               int pad_w,
                                               int stride_h,
                                               int stride_w,
                                               int dilation_h,
                                               int dilation_w);
miopenStatus_t miopenInitConvolutionNdDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                 int spatialDim,
                                                 const int* padA,
                                                 const int* strideA,
                                                 const int* dilationA,
                                                 miopenConvolutionMode_t c_mode);
miopenStatus_t miopenGetConvolutionSpatialDim(miopenConvolutionDescriptor_t convDesc,
                                              int* spatialDim);
miopenStatus_t miopenGetConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc,
                                              miopenConvolutionMode_t* c_mode,
                                              int* pad_h,
                                              int* pad_w,
                                              int* stride_h,
                                              int* stride_w,
                                              int* dilation_h,
                                              int* dilation_w);
miopenStatus_t miopenGetConvolutionNdDescriptor(miopenConvolutionDescriptor_t convDesc,
                                                int requestedSpatialDim,
                                                int* spatialDim,
                                                int* padA,
                                                int* strideA,
                                                int* dilationA,
                                                miopenConvolutionMode_t* c_mode);
miopenStatus_t miopenGetConvolutionGroupCount(miopenConvolutionDescriptor_t convDesc,
                                              int* groupCount);
miopenStatus_t miopenSetConvolutionGroupCount(miopenConvolutionDescriptor_t convDesc,
                                              int groupCount);
miopenStatus_t miopenSetTransposeConvOutputPadding(miopenConvolutionDescriptor_t convDesc,
                                                   int adj_h,
                                                   int adj_w);
miopenStatus_t miopenSetTransposeConvNdOutputPadding(miopenConvolutionDescriptor_t convDesc,
                                                     int spatialDim,
                                                     const int* adjA);
miopenStatus_t miopenGetConvolutionForwardOutputDim(miopenConvolutionDescriptor_t convDesc,
                                                    const miopenTensorDescriptor_t inputTensorDesc,
                                                    const miopenTensorDescriptor_t filterDesc,
                                                    int* n,
                                                    int* c,
                                                    int* h,
                                                    int* w);
miopenStatus_t miopenGetConvolutionNdForwardOutputDim(miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t inputTensorDesc,
                                                      const miopenTensorDescriptor_t filterDesc,
                                                      int* nDim,
                                                      int* outputTensorDimA);
miopenStatus_t miopenDestroyConvolutionDescriptor(miopenConvolutionDescriptor_t convDesc);
miopenStatus_t miopenSetConvolutionAttribute(miopenConvolutionDescriptor_t convDesc,
                                             const miopenConvolutionAttrib_t attr,
                                             int value);
miopenStatus_t miopenGetConvolutionAttribute(miopenConvolutionDescriptor_t convDesc,
                                             const miopenConvolutionAttrib_t attr,
                                             int* value);
miopenStatus_t miopenSetConvolutionFindMode(miopenConvolutionDescriptor_t convDesc,
                                            miopenConvolutionFindMode_t findMode);
miopenStatus_t miopenGetConvolutionFindMode(const miopenConvolutionDescriptor_t convDesc,
                                            miopenConvolutionFindMode_t* findMode);

/* ---- immediate mode: forward ----------------------------------------- */

miopenStatus_t miopenConvolutionForwardGetSolutionCount(miopenHandle_t handle,
                                                        const miopenTensorDescriptor_t wDesc,
                                                        const miopenTensorDescriptor_t xDesc,
                                                        const miopenConvolutionDescriptor_t convDesc,
                                                        const miopenTensorDescriptor_t yDesc,
                                                        size_t* solutionCount);
miopenStatus_t miopenConvolutionForwardGetSolution(miopenHandle_t handle,
                                                   const miopenTensorDescriptor_t wDesc,
                                                   const miopenTensorDescriptor_t xDesc,
                                                   const miopenConvolutionDescriptor_t convDesc,
                                                   const miopenTensorDescriptor_t yDesc,
                                                   const size_t maxSolutionCount,
                                                   size_t* solutionCount,
                                                   miopenConvSolution_t* solutions);
miopenStatus_t
miopenConvolutionForwardGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t wDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t yDesc,
                                                 const uint64_t solution_id,
                                                 size_t* workSpaceSize);
miopenStatus_t miopenConvolutionForwardCompileSolution(miopenHandle_t handle,
                                                       const miopenTensorDescriptor_t wDesc,
                                                       const miopenTensorDescriptor_t xDesc,
                                                       const miopenConvolutionDescriptor_t convDesc,
                                                       const miopenTensorDescriptor_t yDesc,
                                                       const uint64_t solution_id);
miopenStatus_t miopenConvolutionForwardImmediate(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t wDesc,
                                                 const void* w,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const void* x,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t yDesc,
                                                 void* y,
                                                 void* workSpace,
                                                 size_t workSpaceSize,
                                                 const uint64_t solution_id);

/* ---- immediate mode: backward data ----------------------------------- */

miopenStatus_t
miopenConvolutionBackwardDataGetSolutionCount(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const miopenTensorDescriptor_t wDesc,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dxDesc,
                                              size_t* solutionCount);
miopenStatus_t miopenConvolutionBackwardDataGetSolution(miopenHandle_t handle,
                                                        const miopenTensorDescriptor_t dyDesc,
                                                        const miopenTensorDescriptor_t wDesc,
                                                        const miopenConvolutionDescriptor_t convDesc,
                                                        const miopenTensorDescriptor_t dxDesc,
                                                        const size_t maxSolutionCount,
                                                        size_t* solutionCount,
                                                        miopenConvSolution_t* solutions);
miopenStatus_t
miopenConvolutionBackwardDataGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                      const miopenTensorDescriptor_t dyDesc,
                                                      const miopenTensorDescriptor_t wDesc,
                                                      const miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t dxDesc,
                                                      const uint64_t solution_id,
                                                      size_t* workSpaceSize);
miopenStatus_t
miopenConvolutionBackwardDataCompileSolution(miopenHandle_t handle,
                                             const miopenTensorDescriptor_t dyDesc,
                                             const miopenTensorDescriptor_t wDesc,
                                             const miopenConvolutionDescriptor_t convDesc,
                                             const miopenTensorDescriptor_t dxDesc,
                                             const uint64_t solution_id);
miopenStatus_t miopenConvolutionBackwardDataImmediate(miopenHandle_t handle,
                                                      const miopenTensorDescriptor_t dyDesc,
                                                      const void* dy,
                                                      const miopenTensorDescriptor_t wDesc,
                                                      const void* w,
                                                      const miopenConvolutionDescriptor_t convDesc,
                                                      const miopenTensorDescriptor_t dxDesc,
                                                      void* dx,
                                                      void* workSpace,
                                                      size_t workSpaceSize,
                                                      const uint64_t solution_id);

/* ---- immediate mode: backward weights -------------------------------- */

miopenStatus_t
miopenConvolutionBackwardWeightsGetSolutionCount(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t dyDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t dwDesc,
                                                 size_t* solutionCount);
miopenStatus_t
miopenConvolutionBackwardWeightsGetSolution(miopenHandle_t handle,
                                            const miopenTensorDescriptor_t dyDesc,
                                            const miopenTensorDescriptor_t xDesc,
                                            const miopenConvolutionDescriptor_t convDesc,
                                            const miopenTensorDescriptor_t dwDesc,
                                            const size_t maxSolutionCount,
                                            size_t* solutionCount,
                                            miopenConvSolution_t* solutions);
miopenStatus_t
miopenConvolutionBackwardWeightsGetSolutionWorkspaceSize(miopenHandle_t handle,
                                                         const miopenTensorDescriptor_t dyDesc,
                                                         const miopenTensorDescriptor_t xDesc,
                                                         const miopenConvolutionDescriptor_t convDesc,
                                                         const miopenTensorDescriptor_t dwDesc,
                                                         const uint64_t solution_id,
                                                         size_t* workSpaceSize);
miopenStatus_t
miopenConvolutionBackwardWeightsCompileSolution(miopenHandle_t handle,
                                                const miopenTensorDescriptor_t dyDesc,
                                                const miopenTensorDescriptor_t xDesc,
                                                const miopenConvolutionDescriptor_t convDesc,
                                                const miopenTensorDescriptor_t dwDesc,
                                                const uint64_t solution_id);
miopenStatus_t
miopenConvolutionBackwardWeightsImmediate(miopenHandle_t handle,
                                          const miopenTensorDescriptor_t dyDesc,
                                          const void* dy,
                                          const miopenTensorDescriptor_t xDesc,
                                          const void* x,
                                          const miopenConvolutionDescriptor_t convDesc,
                                          const miopenTensorDescriptor_t dwDesc,
                                          void* dw,
                                          void* workSpace,
                                          size_t workSpaceSize,
                                          const uint64_t solution_id);

/* ---- find mode: forward ---------------------------------------------- */

miopenStatus_t miopenConvolutionForwardGetWorkSpaceSize(miopenHandle_t handle,
                                                        const miopenTensorDescriptor_t wDesc,
                                                        const miopenTensorDescriptor_t xDesc,
                                                        const miopenConvolutionDescriptor_t convDesc,
                                                        const miopenTensorDescriptor_t yDesc,
                                                        size_t* workSpaceSize);
miopenStatus_t miopenFindConvolutionForwardAlgorithm(miopenHandle_t handle,
                                                     const miopenTensorDescriptor_t xDesc,
                                                     const void* x,
                                                     const miopenTensorDescriptor_t wDesc,
                                                     const void* w,
                                                     const miopenConvolutionDescriptor_t convDesc,
                                                     const miopenTensorDescriptor_t yDesc,
                                                     void* y,
                                                     const int requestAlgoCount,
                                                     int* returnedAlgoCount,
                                                     miopenConvAlgoPerf_t* perfResults,
                                                     void* workSpace,
                                                     size_t workSpaceSize,
                                                     bool exhaustiveSearch);
miopenStatus_t miopenConvolutionForward(miopenHandle_t handle,
                                        const void* alpha,
                                        const miopenTensorDescriptor_t xDesc,
                                        const void* x,
                                        const miopenTensorDescriptor_t wDesc,
                                        const void* w,
                                        const miopenConvolutionDescriptor_t convDesc,
                                        miopenConvFwdAlgorithm_t algo,
                                        const void* beta,
                                        const miopenTensorDescriptor_t yDesc,
                                        void* y,
                                        void* workSpace,
                                        size_t workSpaceSize);
miopenStatus_t miopenConvolutionForwardBias(miopenHandle_t handle,
                                            const void* alpha,
                                            const miopenTensorDescriptor_t bDesc,
                                            const void* b,
                                            const void* beta,
                                            const miopenTensorDescriptor_t yDesc,
                                            void* y);

/* ---- find mode: backward data ---------------------------------------- */

miopenStatus_t
miopenConvolutionBackwardDataGetWorkSpaceSize(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const miopenTensorDescriptor_t wDesc,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dxDesc,
                                              size_t* workSpaceSize);
miopenStatus_t
miopenFindConvolutionBackwardDataAlgorithm(miopenHandle_t handle,
                                           const miopenTensorDescriptor_t dyDesc,
                                           const void* dy,
                                           const miopenTensorDescriptor_t wDesc,
                                           const void* w,
                                           const miopenConvolutionDescriptor_t convDesc,
                                           const miopenTensorDescriptor_t dxDesc,
                                           void* dx,
                                           const int requestAlgoCount,
                                           int* returnedAlgoCount,
                                           miopenConvAlgoPerf_t* perfResults,
                                           void* workSpace,
                                           size_t workSpaceSize,
                                           bool exhaustiveSearch);
miopenStatus_t miopenConvolutionBackwardData(miopenHandle_t handle,
                                             const void* alpha,
                                             const miopenTensorDescriptor_t dyDesc,
                                             const void* dy,
                                             const miopenTensorDescriptor_t wDesc,
                                             const void* w,
                                             const miopenConvolutionDescriptor_t convDesc,
                                             miopenConvBwdDataAlgorithm_t algo,
                                             const void* beta,
                                             const miopenTensorDescriptor_t dxDesc,
                                             void* dx,
                                             void* workSpace,
                                             size_t workSpaceSize);

/* ---- find mode: backward weights ------------------------------------- */

miopenStatus_t
miopenConvolutionBackwardWeightsGetWorkSpaceSize(miopenHandle_t handle,
                                                 const miopenTensorDescriptor_t dyDesc,
                                                 const miopenTensorDescriptor_t xDesc,
                                                 const miopenConvolutionDescriptor_t convDesc,
                                                 const miopenTensorDescriptor_t dwDesc,
                                                 size_t* workSpaceSize);
miopenStatus_t
miopenFindConvolutionBackwardWeightsAlgorithm(miopenHandle_t handle,
                                              const miopenTensorDescriptor_t dyDesc,
                                              const void* dy,
                                              const miopenTensorDescriptor_t xDesc,
                                              const void* x,
                                              const miopenConvolutionDescriptor_t convDesc,
                                              const miopenTensorDescriptor_t dwDesc,
                                              void* dw,
                                              const int requestAlgoCount,
                                              int* returnedAlgoCount,
                                              miopenConvAlgoPerf_t* perfResults,
                                              void* workSpace,
                                              size_t workSpaceSize,
                                              bool exhaustiveSearch);
miopenStatus_t miopenConvolutionBackwardWeights(miopenHandle_t handle,
                                                const void* alpha,
                                                const miopenTensorDescriptor_t dyDesc,
                                                const void* dy,
                                                const miopenTensorDescriptor_t xDesc,
                                                const void* x,
                                                const miopenConvolutionDescriptor_t convDesc,
                                                miopenConvBwdWeightsAlgorithm_t algo,
                                                const void* beta,
                                                const miopenTensorDescriptor_t dwDesc,
                                                void* dw,
                                                void* workSpace,
                                                size_t workSpaceSize);
miopenStatus_t miopenConvolutionBackwardBias(miopenHandle_t handle,
                                             const void* alpha,
                                             const miopenTensorDescriptor_t dyDesc,
                                             const void* dy,
                                             const void* beta,
                                             const miopenTensorDescriptor_t dbDesc,
                                             void* db);

/* BOO_CDEF_END */

/* ======================================================================
 * Beyond convolution: activation, pooling, batch-norm inference, OpTensor
 * and the fusion API (conv + bias + activation).
 *
 * These are declared after the cdef region on purpose: the shim does not
 * export them, so an application's calls resolve to the native library
 * behind the shim (the vendor libMIOpen.so.1, or our reference library).
 * Names, prototypes and enum values are MIOpen 3.x's; the comments are ours.
 * ====================================================================== */

typedef struct miopenActivationDescriptor* miopenActivationDescriptor_t;
typedef struct miopenPoolingDescriptor* miopenPoolingDescriptor_t;
typedef struct miopenFusionPlanDescriptor* miopenFusionPlanDescriptor_t;
typedef struct miopenFusionOpDescriptor* miopenFusionOpDescriptor_t;
typedef struct miopenOperatorDescriptor* miopenOperatorDescriptor_t;
typedef struct miopenOperatorArgs* miopenOperatorArgs_t;

/* Element type of the max-pooling index workspace. */
typedef enum
{
    miopenIndexUint8  = 0,
    miopenIndexUint16 = 1,
    miopenIndexUint32 = 2,
    miopenIndexUint64 = 3
} miopenIndexType_t;

/* Element-wise operation of miopenOpTensor. */
typedef enum
{
    miopenTensorOpAdd = 0,
    miopenTensorOpMul = 1,
    miopenTensorOpMin = 2,
    miopenTensorOpMax = 3
} miopenTensorOp_t;

typedef enum
{
    miopenPoolingMax              = 0,
    miopenPoolingAverage          = 1, /* padding not counted in the divisor */
    miopenPoolingAverageInclusive = 2  /* padding counted in the divisor */
} miopenPoolingMode_t;

/* What max pooling records per output element when do_backward is set:
 * the position inside the window (mask) or inside the input image. */
typedef enum
{
    miopenPoolingWorkspaceIndexMask  = 0,
    miopenPoolingWorkspaceIndexImage = 1
} miopenPoolingWorkspaceIndexMode_t;

typedef enum
{
    miopenBNPerActivation = 0, /* one statistic per (C, spatial) position */
    miopenBNSpatial       = 1  /* one statistic per channel */
} miopenBatchNormMode_t;

/* f(x) with the descriptor's alpha/beta/gamma (a, b, g):
 *   PASTHRU x; LOGISTIC 1/(1+exp(-x)); TANH b*tanh(a*x); RELU max(0,x);
 *   SOFTRELU log(1+exp(x)); ABS |x|; POWER (a+b*x)^g; CLIPPEDRELU min(a,max(0,x));
 *   LEAKYRELU x>0 ? x : a*x; ELU x>0 ? x : a*(exp(x)-1). */
typedef enum
{
    miopenActivationPASTHRU     = 0,
    miopenActivationLOGISTIC    = 1,
    miopenActivationTANH        = 2,
    miopenActivationRELU        = 3,
    miopenActivationSOFTRELU    = 4,
    miopenActivationABS         = 5,
    miopenActivationPOWER       = 6,
    miopenActivationCLIPPEDRELU = 7,
    miopenActivationLEAKYRELU   = 8,
    miopenActivationELU         = 9
} miopenActivationMode_t;

typedef enum
{
    miopenVerticalFusion   = 0, /* ops applied one after another (the only kind MIOpen runs) */
    miopenHorizontalFusion = 1
} miopenFusionDirection_t;

/* ---- activation ------------------------------------------------------ */

miopenStatus_t miopenCreateActivationDescriptor(miopenActivationDescriptor_t* activDesc);
miopenStatus_t miopenSetActivationDescriptor(const miopenActivationDescriptor_t activDesc,
                                             miopenActivationMode_t mode,
                                             double activAlpha,
                                             double activBeta,
                                             double activGamma);
miopenStatus_t miopenGetActivationDescriptor(const miopenActivationDescriptor_t activDesc,
                                             miopenActivationMode_t* mode,
                                             double* activAlpha,
                                             double* activBeta,
                                             double* activGamma);
/* y = alpha * f(x) + beta * y */
miopenStatus_t miopenActivationForward(miopenHandle_t handle,
                                       const miopenActivationDescriptor_t activDesc,
                                       const void* alpha,
                                       const miopenTensorDescriptor_t xDesc,
                                       const void* x,
                                       const void* beta,
                                       const miopenTensorDescriptor_t yDesc,
                                       void* y);
miopenStatus_t miopenDestroyActivationDescriptor(miopenActivationDescriptor_t activDesc);

/* ---- pooling --------------------------------------------------------- */

miopenStatus_t miopenCreatePoolingDescriptor(miopenPoolingDescriptor_t* poolDesc);
miopenStatus_t miopenSetPoolingIndexType(miopenPoolingDescriptor_t poolDesc,
                                         miopenIndexType_t index_type);
miopenStatus_t miopenSetPoolingWorkSpaceIndexMode(miopenPoolingDescriptor_t poolDesc,
                                                  miopenPoolingWorkspaceIndexMode_t workspace_index);
miopenStatus_t miopenSet2dPoolingDescriptor(miopenPoolingDescriptor_t poolDesc,
                                            miopenPoolingMode_t mode,
                                            int windowHeight,
                                            int windowWidth,
                                            int pad_h,
                                            int pad_w,
                                            int stride_h,
                                            int stride_w);
miopenStatus_t miopenSetNdPoolingDescriptor(miopenPoolingDescriptor_t poolDesc,
                                            const miopenPoolingMode_t mode,
                                            int nbDims,
                                            const int* windowDimA,
                                            const int* padA,
                                            const int* stridesA);
miopenStatus_t miopenGetPoolingForwardOutputDim(const miopenPoolingDescriptor_t poolDesc,
                                                const miopenTensorDescriptor_t tensorDesc,
                                                int* n,
                                                int* c,
                                                int* h,
                                                int* w);
miopenStatus_t miopenGetPoolingNdForwardOutputDim(const miopenPoolingDescriptor_t poolDesc,
                                                  const miopenTensorDescriptor_t tensorDesc,
                                                  int dims,
                                                  int* tensorDimArr);
/* Bytes of index workspace for a max pooling whose output is yDesc (one
 * uint8 index per output element). */
miopenStatus_t miopenPoolingGetWorkSpaceSize(const miopenTensorDescriptor_t yDesc,
                                             size_t* workSpaceSize);
miopenStatus_t miopenPoolingGetWorkSpaceSizeV2(const miopenPoolingDescriptor_t poolDesc,
                                               const miopenTensorDescriptor_t yDesc,
                                               size_t* workSpaceSize);
/* With do_backward and max pooling the argmax indices go to workSpace. */
miopenStatus_t miopenPoolingForward(miopenHandle_t handle,
                                    const miopenPoolingDescriptor_t poolDesc,
                                    const void* alpha,
                                    const miopenTensorDescriptor_t xDesc,
                                    const void* x,
                                    const void* beta,
                                    const miopenTensorDescriptor_t yDesc,
                                    void* y,
                                    bool do_backward,
                                    void* workSpace,
                                    size_t workSpaceSize);
miopenStatus_t miopenDestroyPoolingDescriptor(miopenPoolingDescriptor_t poolDesc);

/* ---- batch normalization (inference) --------------------------------- */

/* Fills derivedBnDesc with the shape of scale/bias/mean/variance for xDesc:
 * 1xCx1x1(x1) for spatial, 1xCxHxW(xD) per activation; always float. */
miopenStatus_t miopenDeriveBNTensorDescriptor(miopenTensorDescriptor_t derivedBnDesc,
                                              const miopenTensorDescriptor_t xDesc,
                                              miopenBatchNormMode_t bn_mode);
/* y = scale * (x - mean) / sqrt(var + epsilon) + bias. */
miopenStatus_t miopenBatchNormalizationForwardInference(miopenHandle_t handle,
                                                        miopenBatchNormMode_t bn_mode,
                                                        void* alpha,
                                                        void* beta,
                                                        const miopenTensorDescriptor_t xDesc,
                                                        const void* x,
                                                        const miopenTensorDescriptor_t yDesc,
                                                        void* y,
                                                        const miopenTensorDescriptor_t bnScaleBiasMeanVarDesc,
                                                        void* bnScale,
                                                        void* bnBias,
                                                        void* estimatedMean,
                                                        void* estimatedVariance,
                                                        double epsilon);

/* ---- element-wise tensor op ------------------------------------------ */

/* C = op(alpha1 * A, alpha2 * B) + beta * C; B broadcasts over A where its
 * length is 1. */
miopenStatus_t miopenOpTensor(miopenHandle_t handle,
                              miopenTensorOp_t tensorOp,
                              const void* alpha1,
                              const miopenTensorDescriptor_t aDesc,
                              const void* A,
                              const void* alpha2,
                              const miopenTensorDescriptor_t bDesc,
                              const void* B,
                              const void* beta,
                              const miopenTensorDescriptor_t cDesc,
                              void* C);

/* ---- fusion ---------------------------------------------------------- */

miopenStatus_t miopenCreateFusionPlan(miopenFusionPlanDescriptor_t* fusePlanDesc,
                                      const miopenFusionDirection_t fuseDirection,
                                      const miopenTensorDescriptor_t inputDesc);
miopenStatus_t miopenCompileFusionPlan(miopenHandle_t handle,
                                       miopenFusionPlanDescriptor_t fusePlanDesc);
miopenStatus_t miopenFusionPlanGetOp(miopenFusionPlanDescriptor_t fusePlanDesc,
                                     const int op_idx,
                                     miopenFusionOpDescriptor_t* op);
miopenStatus_t miopenDestroyFusionPlan(miopenFusionPlanDescriptor_t fusePlanDesc);
miopenStatus_t miopenCreateOpConvForward(miopenFusionPlanDescriptor_t fusePlanDesc,
                                         miopenFusionOpDescriptor_t* convOp,
                                         miopenConvolutionDescriptor_t convDesc,
                                         const miopenTensorDescriptor_t wDesc);
miopenStatus_t miopenCreateOpBiasForward(miopenFusionPlanDescriptor_t fusePlanDesc,
                                         miopenFusionOpDescriptor_t* biasOp,
                                         const miopenTensorDescriptor_t bDesc);
miopenStatus_t miopenCreateOpActivationForward(miopenFusionPlanDescriptor_t fusePlanDesc,
                                               miopenFusionOpDescriptor_t* activFwdOp,
                                               miopenActivationMode_t mode);
miopenStatus_t miopenCreateOperatorArgs(miopenOperatorArgs_t* args);
miopenStatus_t miopenDestroyOperatorArgs(miopenOperatorArgs_t args);
miopenStatus_t miopenSetOpArgsConvForward(miopenOperatorArgs_t args,
                                          const miopenFusionOpDescriptor_t convOp,
                                          const void* alpha,
                                          const void* beta,
                                          const void* w);
miopenStatus_t miopenSetOpArgsBiasForward(miopenOperatorArgs_t args,
                                          const miopenFusionOpDescriptor_t biasOp,
                                          const void* alpha,
                                          const void* beta,
                                          const void* bias);
miopenStatus_t miopenSetOpArgsActivForward(miopenOperatorArgs_t args,
                                           const miopenFusionOpDescriptor_t activFwdOp,
                                           const void* alpha,
                                           const void* beta,
                                           double activAlpha,
                                           double activBeta,
                                           double activGamma);
miopenStatus_t miopenExecuteFusionPlan(const miopenHandle_t handle,
                                       const miopenFusionPlanDescriptor_t fusePlanDesc,
                                       const miopenTensorDescriptor_t inputDesc,
                                       const void* input,
                                       const miopenTensorDescriptor_t outputDesc,
                                       void* output,
                                       miopenOperatorArgs_t args);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* BOO_MIOPEN_MIOPEN_H_ */
